using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>The control plane (create, get, list, update, delete, account settings) as the AWS CLI, boto3 and raw HTTP use it.</summary>
public sealed class ControlPlaneTests(SharedServer shared)
{
    private const string Role = "arn:aws:iam::000000000000:role/test";

    private const string VersionedPython = """
        import os
        def handler(event, context):
            return {"version": "VERSION", "color": os.environ.get("COLOR"), "memory": os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
                    "remaining": context.get_remaining_time_in_millis()}
        def other(event, context):
            return {"handler": "other", "color": os.environ.get("COLOR"), "memory": os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),
                    "remaining": context.get_remaining_time_in_millis()}
        """;

    private static byte[] PythonZip(string version) => Zip.Of(("app.py", VersionedPython.Replace("VERSION", version, StringComparison.Ordinal)));

    private static string Sha256Base64(byte[] bytes) => Convert.ToBase64String(SHA256.HashData(bytes));

    private static string Arn(string name) => $"arn:aws:lambda:us-east-1:000000000000:function:{name}";

    private static JsonObject CreateBody(string name, byte[] zip) => new()
    {
        ["FunctionName"] = name,
        ["Runtime"] = "python3.12",
        ["Handler"] = "app.handler",
        ["Role"] = Role,
        ["Code"] = new JsonObject { ["ZipFile"] = Convert.ToBase64String(zip) },
    };

    /// <summary>Runs a boto3 script and returns the JSON it prints; fails the test with its stderr if it crashed.</summary>
    private async Task<JsonNode> Boto3Async(string script)
    {
        var result = await Clients.Boto3Async(shared.Endpoint, script);
        Assert.True(result.ExitCode == 0, $"boto3 script failed ({result.ExitCode}):\n{result.Stderr}\n{result.Stdout}");
        return result.Json;
    }

    [Fact]
    public async Task CreateFunction_RawHttp_Answers201WithFullConfiguration()
    {
        var name = Names.New("cp-create");
        var zip = PythonZip("1");
        using var response = await shared.Http.PostAsync("2015-03-31/functions", SharedServer.Json(new JsonObject
        {
            ["FunctionName"] = name,
            ["Runtime"] = "python3.12",
            ["Handler"] = "app.handler",
            ["Role"] = Role,
            ["Description"] = "made by a test",
            ["MemorySize"] = 256,
            ["Timeout"] = 10,
            ["Environment"] = new JsonObject { ["Variables"] = new JsonObject { ["COLOR"] = "red" } },
            ["EphemeralStorage"] = new JsonObject { ["Size"] = 1024 },
            ["Code"] = new JsonObject { ["ZipFile"] = Convert.ToBase64String(zip) },
        }));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 201, $"CreateFunction answered {(int)response.StatusCode}: {text}");
        var config = JsonNode.Parse(text)!;
        Assert.Equal(name, config["FunctionName"]!.GetValue<string>());
        Assert.Equal(Arn(name), config["FunctionArn"]!.GetValue<string>());
        Assert.Equal("python3.12", config["Runtime"]!.GetValue<string>());
        Assert.Equal("app.handler", config["Handler"]!.GetValue<string>());
        Assert.Equal(Role, config["Role"]!.GetValue<string>());
        Assert.Equal("made by a test", config["Description"]!.GetValue<string>());
        Assert.Equal(256, config["MemorySize"]!.GetValue<int>());
        Assert.Equal(10, config["Timeout"]!.GetValue<int>());
        Assert.Equal("red", config["Environment"]!["Variables"]!["COLOR"]!.GetValue<string>());
        Assert.Equal(1024, config["EphemeralStorage"]!["Size"]!.GetValue<int>());
        Assert.Equal(Sha256Base64(zip), config["CodeSha256"]!.GetValue<string>());
        Assert.Equal(zip.Length, config["CodeSize"]!.GetValue<long>());
        Assert.Equal("$LATEST", config["Version"]!.GetValue<string>());
        Assert.Equal("Active", config["State"]!.GetValue<string>());
        Assert.Equal("Successful", config["LastUpdateStatus"]!.GetValue<string>());
        Assert.Equal("Zip", config["PackageType"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(config["RevisionId"]!.GetValue<string>()));
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$", config["LastModified"]!.GetValue<string>());
    }

    [Fact]
    public async Task GetFunction_CodeLocation_ServesTheUploadedZip()
    {
        var name = Names.New("cp-getfn");
        var zip = PythonZip("location");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", zip);

        using var response = await shared.Http.GetAsync($"2015-03-31/functions/{name}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 200, text);
        var body = JsonNode.Parse(text)!;
        Assert.Equal(name, body["Configuration"]!["FunctionName"]!.GetValue<string>());
        Assert.Equal(Sha256Base64(zip), body["Configuration"]!["CodeSha256"]!.GetValue<string>());
        var location = body["Code"]!["Location"]!.GetValue<string>();
        Assert.True(Uri.TryCreate(location, UriKind.Absolute, out _), "Code.Location is not an absolute URL: " + location);

        // Download it as a user would, with a plain client that knows nothing of the server.
        using var download = new HttpClient();
        var downloaded = await download.GetByteArrayAsync(new Uri(location));
        Assert.Equal(zip.Length, downloaded.Length);
        Assert.Equal(Sha256Base64(zip), Sha256Base64(downloaded));
        Assert.Equal(zip, downloaded);
    }

    [Fact]
    public async Task GetFunctionConfiguration_WithBoto3_MatchesWhatWasCreated()
    {
        var name = Names.New("cp-getcfg");
        var zip = PythonZip("cfg");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", zip, timeout: 7, memory: 192, environment: new Dictionary<string, string> { ["COLOR"] = "green" });
        var result = await Boto3Async($$"""
            c = lambda_client.get_function_configuration(FunctionName='{{name}}')
            f = lambda_client.get_function(FunctionName='{{name}}')
            print(json.dumps({'config': c, 'function': f}, default=str))
            """);
        var config = result["config"]!;
        Assert.Equal(name, config["FunctionName"]!.GetValue<string>());
        Assert.Equal(Arn(name), config["FunctionArn"]!.GetValue<string>());
        Assert.Equal(7, config["Timeout"]!.GetValue<int>());
        Assert.Equal(192, config["MemorySize"]!.GetValue<int>());
        Assert.Equal("green", config["Environment"]!["Variables"]!["COLOR"]!.GetValue<string>());
        Assert.Equal(Sha256Base64(zip), config["CodeSha256"]!.GetValue<string>());
        Assert.Equal(zip.Length, config["CodeSize"]!.GetValue<long>());
        Assert.Equal("Active", config["State"]!.GetValue<string>());
        Assert.Equal("Successful", config["LastUpdateStatus"]!.GetValue<string>());
        Assert.Equal(config["RevisionId"]!.GetValue<string>(), result["function"]!["Configuration"]!["RevisionId"]!.GetValue<string>());
        Assert.Equal(200, result["function"]!["ResponseMetadata"]!["HTTPStatusCode"]!.GetValue<int>());
    }

    [Fact]
    public async Task ListFunctions_Boto3PaginatorWithPageSize2_WalksAllPagesWithoutDuplicates()
    {
        var prefix = Names.New("cp-list");
        var names = Enumerable.Range(0, 5).Select(i => $"{prefix}-{i}").ToList();
        var zip = PythonZip("list");
        await Task.WhenAll(names.Select(n => shared.CreateFunctionAsync(n, "python3.12", "app.handler", zip)));

        var result = await Boto3Async($$"""
            out = {'paginator': [], 'pages': 0, 'page_sizes': [], 'manual': [], 'manual_pages': 0}
            for page in lambda_client.get_paginator('list_functions').paginate(PaginationConfig={'PageSize': 2}):
                out['pages'] += 1
                out['page_sizes'].append(len(page['Functions']))
                out['paginator'] += [f['FunctionName'] for f in page['Functions']]
            kwargs = {'MaxItems': 2}
            while True:
                page = lambda_client.list_functions(**kwargs)
                out['manual_pages'] += 1
                out['manual'] += [f['FunctionName'] for f in page['Functions']]
                if not page.get('NextMarker'):
                    break
                kwargs['Marker'] = page['NextMarker']
            print(json.dumps(out))
            """);
        var paginated = result["paginator"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        var manual = result["manual"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.All(names, n => Assert.Contains(n, paginated));
        Assert.All(names, n => Assert.Contains(n, manual));
        Assert.Equal(paginated.Count, paginated.Distinct().Count());
        Assert.Equal(manual.Count, manual.Distinct().Count());
        Assert.All(result["page_sizes"]!.AsArray(), size => Assert.InRange(size!.GetValue<int>(), 1, 2));
        // At least our five functions, two a page.
        Assert.True(result["pages"]!.GetValue<int>() >= 3, result.ToJsonString());
        Assert.True(result["manual_pages"]!.GetValue<int>() >= 3, result.ToJsonString());
    }

    [Fact]
    public async Task ListFunctions_MaxItems2_AnswersTwoAndANextMarker()
    {
        // Make sure there are more than two functions on the server.
        var prefix = Names.New("cp-max");
        var zip = PythonZip("max");
        await Task.WhenAll(Enumerable.Range(0, 3).Select(i => shared.CreateFunctionAsync($"{prefix}-{i}", "python3.12", "app.handler", zip)));

        using var response = await shared.Http.GetAsync("2015-03-31/functions?MaxItems=2");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 200, text);
        var body = JsonNode.Parse(text)!;
        Assert.Equal(2, body["Functions"]!.AsArray().Count);
        var marker = body["NextMarker"]?.GetValue<string>();
        Assert.False(string.IsNullOrEmpty(marker), text);

        using var next = await shared.Http.GetAsync("2015-03-31/functions?MaxItems=2&Marker=" + Uri.EscapeDataString(marker!));
        var nextBody = JsonNode.Parse(await next.Content.ReadAsStringAsync())!;
        Assert.Equal(200, (int)next.StatusCode);
        var first = body["Functions"]!.AsArray().Select(f => f!["FunctionName"]!.GetValue<string>());
        var second = nextBody["Functions"]!.AsArray().Select(f => f!["FunctionName"]!.GetValue<string>()).ToList();
        Assert.NotEmpty(second);
        Assert.Empty(first.Intersect(second));
    }

    [Fact]
    public async Task UpdateFunctionCode_WithBoto3_ChangesCodeSha256CodeSizeRevisionAndRunsNewCode()
    {
        var name = Names.New("cp-code");
        var zip1 = PythonZip("1");
        var created = await shared.CreateFunctionAsync(name, "python3.12", "app.handler", zip1);
        Assert.Equal("1", (await shared.InvokeAsync(name)).Json!["version"]!.GetValue<string>());

        var zip2 = Zip.Of(("app.py", VersionedPython.Replace("VERSION", "2", StringComparison.Ordinal)), ("data/extra.txt", new string('x', 5000)));
        var result = await Boto3Async($$"""
            zip = base64.b64decode('{{Convert.ToBase64String(zip2)}}')
            u = lambda_client.update_function_code(FunctionName='{{name}}', ZipFile=zip)
            lambda_client.get_waiter('function_updated_v2').wait(FunctionName='{{name}}', WaiterConfig={'Delay': 1, 'MaxAttempts': 10})
            g = lambda_client.get_function_configuration(FunctionName='{{name}}')
            r = lambda_client.invoke(FunctionName='{{name}}', Payload=b'{}')
            print(json.dumps({'update': u, 'get': g, 'invoke': json.loads(r['Payload'].read())}, default=str))
            """);
        var update = result["update"]!;
        Assert.Equal(200, update["ResponseMetadata"]!["HTTPStatusCode"]!.GetValue<int>());
        Assert.Equal(Sha256Base64(zip2), update["CodeSha256"]!.GetValue<string>());
        Assert.NotEqual(created["CodeSha256"]!.GetValue<string>(), update["CodeSha256"]!.GetValue<string>());
        Assert.Equal(zip2.Length, update["CodeSize"]!.GetValue<long>());
        Assert.NotEqual(created["RevisionId"]!.GetValue<string>(), update["RevisionId"]!.GetValue<string>());
        Assert.Equal(update["RevisionId"]!.GetValue<string>(), result["get"]!["RevisionId"]!.GetValue<string>());
        Assert.Equal(Sha256Base64(zip2), result["get"]!["CodeSha256"]!.GetValue<string>());
        Assert.Equal("2", result["invoke"]!["version"]!.GetValue<string>());
    }

    [Fact]
    public async Task UpdateFunctionConfiguration_WithBoto3_ChangesEverySettingAndInvokeSeesIt()
    {
        var name = Names.New("cp-cfg");
        var created = await shared.CreateFunctionAsync(name, "python3.12", "app.handler", PythonZip("cfg"));
        var result = await Boto3Async($$"""
            n = '{{name}}'
            u = lambda_client.update_function_configuration(FunctionName=n, Handler='app.other', Runtime='python3.13', MemorySize=256, Timeout=30,
                Environment={'Variables': {'COLOR': 'blue'} }, Description='updated by test', EphemeralStorage={'Size': 1024})
            lambda_client.get_waiter('function_updated_v2').wait(FunctionName=n, WaiterConfig={'Delay': 1, 'MaxAttempts': 10})
            g = lambda_client.get_function_configuration(FunctionName=n)
            r = json.loads(lambda_client.invoke(FunctionName=n, Payload=b'{}')['Payload'].read())
            high = lambda_client.update_function_configuration(FunctionName=n, MemorySize=10240, Timeout=900, EphemeralStorage={'Size': 10240})
            low = lambda_client.update_function_configuration(FunctionName=n, MemorySize=128, Timeout=1, EphemeralStorage={'Size': 512})
            print(json.dumps({'update': u, 'get': g, 'invoke': r, 'high': high, 'low': low}, default=str))
            """);
        foreach (var config in new[] { result["update"]!, result["get"]! })
        {
            Assert.Equal("app.other", config["Handler"]!.GetValue<string>());
            Assert.Equal("python3.13", config["Runtime"]!.GetValue<string>());
            Assert.Equal(256, config["MemorySize"]!.GetValue<int>());
            Assert.Equal(30, config["Timeout"]!.GetValue<int>());
            Assert.Equal("blue", config["Environment"]!["Variables"]!["COLOR"]!.GetValue<string>());
            Assert.Equal("updated by test", config["Description"]!.GetValue<string>());
            Assert.Equal(1024, config["EphemeralStorage"]!["Size"]!.GetValue<int>());
            Assert.Equal("Successful", config["LastUpdateStatus"]!.GetValue<string>());
        }

        Assert.NotEqual(created["RevisionId"]!.GetValue<string>(), result["update"]!["RevisionId"]!.GetValue<string>());
        var invoked = result["invoke"]!;
        Assert.Equal("other", invoked["handler"]!.GetValue<string>());
        Assert.Equal("blue", invoked["color"]!.GetValue<string>());
        Assert.Equal("256", invoked["memory"]!.GetValue<string>());
        // A 30 s timeout leaves far more than the 3 s default.
        Assert.True(invoked["remaining"]!.GetValue<int>() > 3000, invoked.ToJsonString());

        Assert.Equal(10240, result["high"]!["MemorySize"]!.GetValue<int>());
        Assert.Equal(900, result["high"]!["Timeout"]!.GetValue<int>());
        Assert.Equal(10240, result["high"]!["EphemeralStorage"]!["Size"]!.GetValue<int>());
        Assert.Equal(128, result["low"]!["MemorySize"]!.GetValue<int>());
        Assert.Equal(1, result["low"]!["Timeout"]!.GetValue<int>());
        Assert.Equal(512, result["low"]!["EphemeralStorage"]!["Size"]!.GetValue<int>());
        // Settings not named in an update stay as they were.
        Assert.Equal("app.other", result["low"]!["Handler"]!.GetValue<string>());
        Assert.Equal("blue", result["low"]!["Environment"]!["Variables"]!["COLOR"]!.GetValue<string>());
        var revisions = new[] { result["update"]!, result["high"]!, result["low"]! }.Select(c => c["RevisionId"]!.GetValue<string>()).ToList();
        Assert.Equal(3, revisions.Distinct().Count());
    }

    [Fact]
    public async Task UpdateFunction_StaleRevisionId_Answers412PreconditionFailedAndChangesNothing()
    {
        var name = Names.New("cp-rev");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", PythonZip("rev"));
        var fresh = PythonZip("fresh");
        var result = await Boto3Async($$"""
            n = '{{name}}'
            old = lambda_client.get_function(FunctionName=n)['Configuration']['RevisionId']
            one = lambda_client.update_function_configuration(FunctionName=n, Description='one', RevisionId=old)
            errors = {}
            try:
                lambda_client.update_function_configuration(FunctionName=n, Description='two', RevisionId=old)
            except botocore.exceptions.ClientError as e:
                errors['configuration'] = {'code': e.response['Error']['Code'], 'status': e.response['ResponseMetadata']['HTTPStatusCode'], 'message': e.response['Error']['Message']}
            try:
                lambda_client.update_function_code(FunctionName=n, ZipFile=base64.b64decode('{{Convert.ToBase64String(PythonZip("stale"))}}'), RevisionId=old)
            except botocore.exceptions.ClientError as e:
                errors['code'] = {'code': e.response['Error']['Code'], 'status': e.response['ResponseMetadata']['HTTPStatusCode'], 'message': e.response['Error']['Message']}
            after = lambda_client.get_function_configuration(FunctionName=n)
            fresh = lambda_client.update_function_code(FunctionName=n, ZipFile=base64.b64decode('{{Convert.ToBase64String(fresh)}}'), RevisionId=after['RevisionId'])
            print(json.dumps({'old': old, 'one': one, 'errors': errors, 'after': after, 'fresh': fresh}, default=str))
            """);
        foreach (var operation in new[] { "configuration", "code" })
        {
            var error = result["errors"]![operation];
            Assert.True(error is not null, $"UpdateFunction{operation} with a stale RevisionId succeeded: " + result.ToJsonString());
            Assert.Equal("PreconditionFailedException", error!["code"]!.GetValue<string>());
            Assert.Equal(412, error["status"]!.GetValue<int>());
            Assert.False(string.IsNullOrEmpty(error["message"]!.GetValue<string>()));
        }

        var one = result["one"]!;
        var after = result["after"]!;
        Assert.NotEqual(result["old"]!.GetValue<string>(), one["RevisionId"]!.GetValue<string>());
        Assert.Equal("one", after["Description"]!.GetValue<string>());
        Assert.Equal(one["RevisionId"]!.GetValue<string>(), after["RevisionId"]!.GetValue<string>());
        Assert.Equal(one["CodeSha256"]!.GetValue<string>(), after["CodeSha256"]!.GetValue<string>());
        // The current RevisionId is accepted, and moves the revision on.
        Assert.Equal(Sha256Base64(fresh), result["fresh"]!["CodeSha256"]!.GetValue<string>());
        Assert.NotEqual(after["RevisionId"]!.GetValue<string>(), result["fresh"]!["RevisionId"]!.GetValue<string>());
    }

    [Fact]
    public async Task DeleteFunction_RawHttp_Answers204ThenGetAnswers404FunctionNotFound()
    {
        var name = Names.New("cp-del");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", PythonZip("del"));
        Assert.Equal(200, (await shared.InvokeAsync(name)).Status);

        using (var delete = await shared.Http.DeleteAsync($"2015-03-31/functions/{name}"))
        {
            Assert.Equal(204, (int)delete.StatusCode);
            Assert.Equal("", await delete.Content.ReadAsStringAsync());
        }

        using (var get = await shared.Http.GetAsync($"2015-03-31/functions/{name}"))
        {
            var body = await WireAssert.ErrorAsync(get, 404, "ResourceNotFoundException");
            Assert.Equal($"Function not found: {Arn(name)}", (body["Message"] ?? body["message"])!.GetValue<string>());
        }

        using (var config = await shared.Http.GetAsync($"2015-03-31/functions/{name}/configuration"))
        {
            await WireAssert.ErrorAsync(config, 404, "ResourceNotFoundException");
        }

        var invoke = await shared.InvokeAsync(name);
        Assert.Equal(404, invoke.Status);
        using (var again = await shared.Http.DeleteAsync($"2015-03-31/functions/{name}"))
        {
            await WireAssert.ErrorAsync(again, 404, "ResourceNotFoundException");
        }

        using (var list = await shared.Http.GetAsync("2015-03-31/functions?MaxItems=10000"))
        {
            Assert.DoesNotContain($"\"{name}\"", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // The name is free again, and the new function runs its own code.
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", PythonZip("reborn"));
        Assert.Equal("reborn", (await shared.InvokeAsync(name)).Json!["version"]!.GetValue<string>());
    }

    [Fact]
    public async Task DeleteFunction_WithBoto3_Answers204AndGetRaisesResourceNotFound()
    {
        var name = Names.New("cp-delb");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", PythonZip("del"));
        var result = await Boto3Async($$"""
            d = lambda_client.delete_function(FunctionName='{{name}}')
            out = {'status': d['ResponseMetadata']['HTTPStatusCode']}
            try:
                lambda_client.get_function(FunctionName='{{name}}')
            except lambda_client.exceptions.ResourceNotFoundException as e:
                out['error'] = {'code': e.response['Error']['Code'], 'message': e.response['Error']['Message'], 'status': e.response['ResponseMetadata']['HTTPStatusCode']}
            print(json.dumps(out))
            """);
        Assert.Equal(204, result["status"]!.GetValue<int>());
        Assert.True(result["error"] is not null, "GetFunction after DeleteFunction did not raise ResourceNotFoundException: " + result.ToJsonString());
        Assert.Equal("ResourceNotFoundException", result["error"]!["code"]!.GetValue<string>());
        Assert.Equal(404, result["error"]!["status"]!.GetValue<int>());
        Assert.Equal($"Function not found: {Arn(name)}", result["error"]!["message"]!.GetValue<string>());
    }

    [Fact]
    public async Task GetAccountSettings_OwnServer_CountsFunctionsAndCodeSize()
    {
        await using var server = await ServerProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.Endpoint + "/") };

        async Task<JsonNode> SettingsAsync()
        {
            using var response = await http.GetAsync("2016-08-19/account-settings");
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode == 200, text);
            return JsonNode.Parse(text)!;
        }

        var empty = await SettingsAsync();
        Assert.Equal(0, empty["AccountUsage"]!["FunctionCount"]!.GetValue<long>());
        Assert.Equal(0, empty["AccountUsage"]!["TotalCodeSize"]!.GetValue<long>());
        var limit = empty["AccountLimit"]!;
        foreach (var field in new[] { "TotalCodeSize", "CodeSizeUnzipped", "CodeSizeZipped", "ConcurrentExecutions", "UnreservedConcurrentExecutions" })
        {
            Assert.True(limit[field] is not null && limit[field]!.GetValue<long>() > 0, $"AccountLimit.{field} missing or zero: {empty.ToJsonString()}");
        }

        Assert.Equal(262_144_000, limit["CodeSizeUnzipped"]!.GetValue<long>());
        Assert.Equal(52_428_800, limit["CodeSizeZipped"]!.GetValue<long>());

        var zipA = PythonZip("a");
        var zipB = Zip.Of(("app.py", "def handler(e, c):\n    return 'b'\n"), ("pad.txt", new string('p', 3000)));
        foreach (var (fn, zip) in new[] { ("acct-a", zipA), ("acct-b", zipB) })
        {
            using var created = await http.PostAsync("2015-03-31/functions", SharedServer.Json(CreateBody(fn, zip)));
            Assert.Equal(201, (int)created.StatusCode);
        }

        // The AWS CLI reads the same document.
        var cli = await Clients.AwsAsync(server.Endpoint, "lambda", "get-account-settings");
        Assert.True(cli.ExitCode == 0, cli.Stderr);
        Assert.Equal(2, cli.Json["AccountUsage"]!["FunctionCount"]!.GetValue<long>());
        Assert.Equal(zipA.Length + zipB.Length, cli.Json["AccountUsage"]!["TotalCodeSize"]!.GetValue<long>());
        Assert.NotNull(cli.Json["AccountLimit"]!["ConcurrentExecutions"]);

        using (var deleted = await http.DeleteAsync("2015-03-31/functions/acct-a"))
        {
            Assert.Equal(204, (int)deleted.StatusCode);
        }

        var after = await SettingsAsync();
        Assert.Equal(1, after["AccountUsage"]!["FunctionCount"]!.GetValue<long>());
        Assert.Equal(zipB.Length, after["AccountUsage"]!["TotalCodeSize"]!.GetValue<long>());
    }

    [Fact]
    public async Task Wait_FunctionActiveV2AndUpdatedV2WithAwsCli_ExitZeroQuickly()
    {
        var name = Names.New("cp-wait");
        var zip = Zip.WriteTemp(PythonZip("wait"));
        var created = await Clients.AwsAsync(shared.Endpoint, "lambda", "create-function", "--function-name", name, "--runtime", "python3.12",
            "--handler", "app.handler", "--role", Role, "--zip-file", "fileb://" + zip);
        Assert.True(created.ExitCode == 0, created.Stderr);
        Assert.Equal("Active", created.Json["State"]!.GetValue<string>());

        var clock = Stopwatch.StartNew();
        var active = await Clients.AwsAsync(shared.Endpoint, "lambda", "wait", "function-active-v2", "--function-name", name);
        Assert.True(active.ExitCode == 0, active.Stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"function-active-v2 took {clock.Elapsed}");

        var updated = await Clients.AwsAsync(shared.Endpoint, "lambda", "update-function-configuration", "--function-name", name, "--timeout", "9");
        Assert.True(updated.ExitCode == 0, updated.Stderr);
        Assert.Equal(9, updated.Json["Timeout"]!.GetValue<int>());
        Assert.Equal("Successful", updated.Json["LastUpdateStatus"]!.GetValue<string>());

        clock.Restart();
        var waited = await Clients.AwsAsync(shared.Endpoint, "lambda", "wait", "function-updated-v2", "--function-name", name);
        Assert.True(waited.ExitCode == 0, waited.Stderr);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"function-updated-v2 took {clock.Elapsed}");
    }

    [Fact]
    public async Task GetAndInvoke_FullArnAndPartialArn_ReachTheFunction()
    {
        var name = Names.New("cp-arn");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", PythonZip("arn"));
        var result = await Boto3Async($$"""
            out = {}
            for label, ref in [('full', '{{Arn(name)}}'), ('partial', '000000000000:function:{{name}}'), ('qualified', '{{Arn(name)}}:$LATEST')]:
                g = lambda_client.get_function(FunctionName=ref)
                c = lambda_client.get_function_configuration(FunctionName=ref)
                r = lambda_client.invoke(FunctionName=ref, Payload=b'{}')
                out[label] = {'get': g['Configuration']['FunctionName'], 'config': c['FunctionArn'], 'status': r['StatusCode'],
                              'error': r.get('FunctionError'), 'payload': json.loads(r['Payload'].read())}
            print(json.dumps(out))
            """);
        foreach (var form in new[] { "full", "partial", "qualified" })
        {
            var entry = result[form]!;
            Assert.Equal(name, entry["get"]!.GetValue<string>());
            // A qualified name is answered with the qualified ARN, as Lambda does.
            Assert.Equal(form == "qualified" ? Arn(name) + ":$LATEST" : Arn(name), entry["config"]!.GetValue<string>());
            Assert.Equal(200, entry["status"]!.GetValue<int>());
            Assert.Null(entry["error"]);
            Assert.Equal("arn", entry["payload"]!["version"]!.GetValue<string>());
        }

        // Raw, with the colons escaped as SDKs send them.
        using var raw = await shared.Http.GetAsync("2015-03-31/functions/" + Uri.EscapeDataString(Arn(name)));
        Assert.Equal(200, (int)raw.StatusCode);
        using var partial = await shared.Http.GetAsync("2015-03-31/functions/" + Uri.EscapeDataString($"000000000000:function:{name}") + "/configuration");
        Assert.Equal(200, (int)partial.StatusCode);

        // An ARN of another account or region names a different function, which does not exist here.
        using var otherAccount = await shared.Http.GetAsync("2015-03-31/functions/" + Uri.EscapeDataString($"arn:aws:lambda:us-east-1:111111111111:function:{name}"));
        await WireAssert.ErrorAsync(otherAccount, 404, "ResourceNotFoundException");
        using var otherRegion = await shared.Http.GetAsync("2015-03-31/functions/" + Uri.EscapeDataString($"arn:aws:lambda:eu-west-1:000000000000:function:{name}"));
        await WireAssert.ErrorAsync(otherRegion, 404, "ResourceNotFoundException");
    }

    [Fact]
    public async Task CreateFunction_Duplicate_Answers409ResourceConflictAndKeepsTheOriginal()
    {
        var name = Names.New("cp-dup");
        var original = PythonZip("original");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", original);

        using (var duplicate = await shared.Http.PostAsync("2015-03-31/functions", SharedServer.Json(CreateBody(name, PythonZip("intruder")))))
        {
            await WireAssert.ErrorAsync(duplicate, 409, "ResourceConflictException");
        }

        var result = await Boto3Async($$"""
            try:
                lambda_client.create_function(FunctionName='{{name}}', Runtime='python3.12', Role='{{Role}}', Handler='app.handler',
                    Code={'ZipFile': base64.b64decode('{{Convert.ToBase64String(PythonZip("intruder2"))}}')})
                print(json.dumps({'created': True}))
            except lambda_client.exceptions.ResourceConflictException as e:
                print(json.dumps({'code': e.response['Error']['Code'], 'status': e.response['ResponseMetadata']['HTTPStatusCode']}))
            """);
        Assert.Equal("ResourceConflictException", result["code"]?.GetValue<string>());
        Assert.Equal(409, result["status"]!.GetValue<int>());

        using var get = await shared.Http.GetAsync($"2015-03-31/functions/{name}/configuration");
        Assert.Equal(Sha256Base64(original), JsonNode.Parse(await get.Content.ReadAsStringAsync())!["CodeSha256"]!.GetValue<string>());
        Assert.Equal("original", (await shared.InvokeAsync(name)).Json!["version"]!.GetValue<string>());
    }

    [Fact]
    public async Task ErrorResponses_EveryKind_CarryErrorTypeRequestIdTypeAndMessage()
    {
        var name = Names.New("cp-errs");
        var created = await shared.CreateFunctionAsync(name, "python3.12", "app.handler", PythonZip("errs"));
        var missing = Names.New("cp-missing");

        using (var response = await shared.Http.GetAsync($"2015-03-31/functions/{missing}"))
        {
            await WireAssert.ErrorAsync(response, 404, "ResourceNotFoundException");
        }

        using (var response = await shared.Http.PostAsync("2015-03-31/functions", SharedServer.Json(CreateBody(name, PythonZip("again")))))
        {
            await WireAssert.ErrorAsync(response, 409, "ResourceConflictException");
        }

        using (var response = await shared.Http.PutAsync($"2015-03-31/functions/{name}/configuration",
            SharedServer.Json(new JsonObject { ["Description"] = "x", ["RevisionId"] = Guid.NewGuid().ToString() })))
        {
            await WireAssert.ErrorAsync(response, 412, "PreconditionFailedException");
        }

        using (var response = await shared.Http.PutAsync($"2015-03-31/functions/{name}/configuration", SharedServer.Json(new JsonObject { ["Runtime"] = "cobol" })))
        {
            await WireAssert.ErrorAsync(response, 400, "InvalidParameterValueException");
        }

        using (var response = await shared.Http.GetAsync("2015-03-31/functions/" + Uri.EscapeDataString("bad name!")))
        {
            await WireAssert.ErrorAsync(response, 400, "ValidationException");
        }

        using (var response = await shared.Http.GetAsync("2015-03-31/no-such-thing"))
        {
            Assert.Equal(404, (int)response.StatusCode);
            await WireAssert.ErrorAsync(response, 404, response.Headers.GetValues("x-amzn-ErrorType").Single());
        }

        // The failed calls changed nothing.
        using var get = await shared.Http.GetAsync($"2015-03-31/functions/{name}/configuration");
        Assert.Equal(created["RevisionId"]!.GetValue<string>(), JsonNode.Parse(await get.Content.ReadAsStringAsync())!["RevisionId"]!.GetValue<string>());
    }
}

/// <summary>Checks of the rest-json error shape every refused call must have.</summary>
internal static class WireAssert
{
    /// <summary>Asserts status, x-amzn-ErrorType, x-amzn-RequestId and a body with Type and message; returns the body.</summary>
    public static async Task<JsonObject> ErrorAsync(HttpResponseMessage response, int status, string type)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status} {type}, got {(int)response.StatusCode}: {text}");
        Assert.True(response.Headers.TryGetValues("x-amzn-ErrorType", out var types), $"no x-amzn-ErrorType header on {status}: {text}");
        Assert.Equal(type, types.Single().Split(':')[0]);
        Assert.True(response.Headers.TryGetValues("x-amzn-RequestId", out var ids), $"no x-amzn-RequestId header on {status}: {text}");
        Assert.False(string.IsNullOrWhiteSpace(ids.Single()));
        JsonObject body;
        try
        {
            body = JsonNode.Parse(text)!.AsObject();
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new Xunit.Sdk.XunitException($"error body is not JSON ({ex.Message}): {text}");
        }

        Assert.True(body["Type"] is JsonValue typeValue && typeValue.GetValue<string>().Length > 0, "no Type in error body: " + text);
        var message = body["message"] ?? body["Message"];
        Assert.True(message is JsonValue messageValue && messageValue.GetValue<string>().Length > 0, "no message in error body: " + text);
        return body;
    }
}
