using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>PublishVersion, ListVersionsByFunction, aliases with weighted routing, qualified names, with boto3, the AWS CLI and raw HTTP.</summary>
public sealed class VersionTests(SharedServer shared)
{
    private const string Account = "000000000000";
    private static readonly string[] RunsOfDifferentVersions = ["name_q1", "arn_q2", "latest"];

    // Each sandbox draws an id at init; the answer says which version and which sandbox ran it.
    private static byte[] VersionReporter() => Zip.Of(("app.py", """
        import os, uuid
        SANDBOX = str(uuid.uuid4())
        def handler(event, context):
            return {'version': os.environ['AWS_LAMBDA_FUNCTION_VERSION'], 'sandbox': SANDBOX,
                    'colour': os.environ.get('COLOUR'), 'arn': context.invoked_function_arn}
        """));

    [Fact]
    public async Task Versions_SnapshotConfiguration_CountUp_AndAreNeverReused_WithBoto3()
    {
        var name = Names.New("ver");
        var zip = Convert.ToBase64String(VersionReporter());
        var changedZip = Convert.ToBase64String(Zip.Of(("app.py", "import os\ndef handler(event, context):\n    return {'colour': 'v4:' + os.environ.get('COLOUR', '')}\n")));
        var result = await Clients.Boto3Async(shared.Endpoint, $$"""
            name = '{{name}}'
            arn = 'arn:aws:lambda:us-east-1:{{Account}}:function:' + name
            def run(qualified):
                r = lambda_client.invoke(FunctionName=qualified)
                return [r['ExecutedVersion'], json.loads(r['Payload'].read())]
            out = {}
            created = lambda_client.create_function(FunctionName=name, Runtime='python3.12', Handler='app.handler',
                Role='arn:aws:iam::000000000000:role/x', Code={'ZipFile': base64.b64decode('{{zip}}')},
                Environment=dict(Variables=dict(COLOUR='blue')), Publish=True)
            out['created'] = [created['Version'], created['FunctionArn']]
            again = lambda_client.publish_version(FunctionName=name)
            out['unchanged'] = [again['Version'], again['FunctionArn']]
            lambda_client.get_waiter('function_updated_v2').wait(FunctionName=name)
            latest = lambda_client.update_function_configuration(FunctionName=name, Environment=dict(Variables=dict(COLOUR='green')))
            out['wrong_sha'] = err(lambda: lambda_client.publish_version(FunctionName=name, CodeSha256='AAAA'))
            out['wrong_revision'] = err(lambda: lambda_client.publish_version(FunctionName=name, RevisionId='nope'))
            v2 = lambda_client.publish_version(FunctionName=name, CodeSha256=latest['CodeSha256'], RevisionId=latest['RevisionId'], Description='green')
            out['v2'] = [v2['Version'], v2['Description'], v2['Environment']['Variables']['COLOUR']]
            lambda_client.update_function_configuration(FunctionName=name, Environment=dict(Variables=dict(COLOUR='red')))
            # Every qualified form names the same version.
            out['runs'] = {
                'name_q1': run(name + ':1'),
                'arn_q2': run(arn + ':2'),
                'partial_q2': run('{{Account}}:function:' + name + ':2'),
                'latest': run(name),
                'latest_q': run(name + ':$LATEST'),
            }
            out['config_v1'] = lambda_client.get_function_configuration(FunctionName=name, Qualifier='1')['Environment']['Variables']['COLOUR']
            out['get_function_v2_arn'] = lambda_client.get_function(FunctionName=arn + ':2')['Configuration']['FunctionArn']
            pages = [[v['Version'] for v in p['Versions']] for p in lambda_client.get_paginator('list_versions_by_function').paginate(FunctionName=name, PaginationConfig={'PageSize': 2})]
            out['pages'] = pages
            out['delete_latest'] = err(lambda: lambda_client.delete_function(FunctionName=name, Qualifier='$LATEST'))
            lambda_client.delete_function(FunctionName=name, Qualifier='2')
            out['deleted_v2'] = err(lambda: lambda_client.get_function_configuration(FunctionName=name, Qualifier='2'))
            out['v3'] = lambda_client.publish_version(FunctionName=name)['Version']
            lambda_client.get_waiter('function_updated_v2').wait(FunctionName=name)
            v4 = lambda_client.update_function_code(FunctionName=name, ZipFile=base64.b64decode('{{changedZip}}'), Publish=True)
            out['v4'] = [v4['Version'], v4['FunctionArn'].rsplit(':', 1)[1], run(name + ':4')[1]['colour']]
            out['missing_version'] = err(lambda: lambda_client.invoke(FunctionName=name, Qualifier='99'))
            out['update_version'] = err(lambda: lambda_client.update_function_configuration(FunctionName=name + ':1', Description='x'))
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        var arn = $"arn:aws:lambda:us-east-1:{Account}:function:{name}";
        Assert.Equal($"""["1","{arn}"]""", json["created"]!.ToJsonString());
        Assert.Equal($"""["1","{arn}:1"]""", json["unchanged"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["wrong_sha"]!.ToJsonString());
        Assert.Equal("""["PreconditionFailedException",412]""", json["wrong_revision"]!.ToJsonString());
        Assert.Equal("""["2","green","green"]""", json["v2"]!.ToJsonString());

        var runs = json["runs"]!;
        Assert.Equal("1", runs["name_q1"]![0]!.GetValue<string>());
        Assert.Equal("blue", runs["name_q1"]![1]!["colour"]!.GetValue<string>());
        Assert.Equal($"{arn}:1", runs["name_q1"]![1]!["arn"]!.GetValue<string>());
        Assert.Equal("green", runs["arn_q2"]![1]!["colour"]!.GetValue<string>());
        Assert.Equal("2", runs["partial_q2"]![1]!["version"]!.GetValue<string>());
        Assert.Equal("$LATEST", runs["latest"]![0]!.GetValue<string>());
        Assert.Equal("red", runs["latest"]![1]!["colour"]!.GetValue<string>());
        Assert.Equal(arn, runs["latest"]![1]!["arn"]!.GetValue<string>());
        Assert.Equal("red", runs["latest_q"]![1]!["colour"]!.GetValue<string>());
        // Sandboxes of different versions are never shared.
        var sandboxes = RunsOfDifferentVersions.Select(k => runs[k]![1]!["sandbox"]!.GetValue<string>()).ToList();
        Assert.Equal(3, sandboxes.Distinct().Count());

        Assert.Equal("blue", json["config_v1"]!.GetValue<string>());
        Assert.Equal($"{arn}:2", json["get_function_v2_arn"]!.GetValue<string>());
        Assert.Equal("""[["$LATEST","1"],["2"]]""", json["pages"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["delete_latest"]!.ToJsonString());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["deleted_v2"]!.ToJsonString());
        Assert.Equal("3", json["v3"]!.GetValue<string>());
        // UpdateFunctionCode with Publish answers the new version, under its qualified ARN.
        Assert.Equal("""["4","4","v4:red"]""", json["v4"]!.ToJsonString());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["missing_version"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["update_version"]!.ToJsonString());
    }

    [Fact]
    public async Task Aliases_CreateGetUpdateListDelete_AndRefuseBadRouting_WithAwsCli()
    {
        var name = Names.New("alias");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", VersionReporter());
        Assert.Equal("1", (await Cli("publish-version", "--function-name", name)).Json["Version"]!.GetValue<string>());
        await Cli("update-function-configuration", "--function-name", name, "--description", "two");
        Assert.Equal("2", (await Cli("publish-version", "--function-name", name)).Json["Version"]!.GetValue<string>());

        var created = (await Cli("create-alias", "--function-name", name, "--name", "live", "--function-version", "1",
            "--routing-config", "AdditionalVersionWeights={2=0.1}")).Json;
        Assert.Equal($"arn:aws:lambda:us-east-1:{Account}:function:{name}:live", created["AliasArn"]!.GetValue<string>());
        Assert.Equal(0.1, created["RoutingConfig"]!["AdditionalVersionWeights"]!["2"]!.GetValue<double>());

        // Each refusal names the problem and changes nothing. Independent of each other: run at once.
        await Task.WhenAll(
            Refused("ResourceConflictException", "create-alias", "--function-name", name, "--name", "live", "--function-version", "2"),
            Refused("ValidationException", "create-alias", "--function-name", name, "--name", "123", "--function-version", "1"),
            Refused("ResourceNotFoundException", "create-alias", "--function-name", name, "--name", "ghost", "--function-version", "9"),
            Refused("InvalidParameterValueException", "create-alias", "--function-name", name, "--name", "canary", "--function-version", "$LATEST", "--routing-config", "AdditionalVersionWeights={1=0.5}"),
            Refused("InvalidParameterValueException", "update-alias", "--function-name", name, "--name", "live", "--routing-config", "AdditionalVersionWeights={1=0.5}"),
            Refused("ValidationException", "update-alias", "--function-name", name, "--name", "live", "--routing-config", "AdditionalVersionWeights={2=1.5}"),
            Refused("InvalidParameterValueException", "update-alias", "--function-name", name, "--name", "live", "--routing-config", "AdditionalVersionWeights={2=0.5,1=0.2}"),
            Refused("PreconditionFailedException", "update-alias", "--function-name", name, "--name", "live", "--description", "x", "--revision-id", "stale"),
            Refused("ResourceConflictException", "delete-function", "--function-name", name, "--qualifier", "2"),
            Refused("InvalidParameterValueException", "delete-function", "--function-name", name, "--qualifier", "live"),
            Refused("ResourceNotFoundException", "get-alias", "--function-name", name, "--name", "ghost"));
        var unchanged = (await Cli("get-alias", "--function-name", name, "--name", "live")).Json;
        Assert.Equal(created.ToJsonString(), unchanged.ToJsonString());

        var updated = (await Cli("update-alias", "--function-name", name, "--name", "live", "--function-version", "2",
            "--routing-config", "{}", "--revision-id", created["RevisionId"]!.GetValue<string>())).Json;
        Assert.Equal("2", updated["FunctionVersion"]!.GetValue<string>());
        Assert.Null(updated["RoutingConfig"]);
        Assert.NotEqual(created["RevisionId"]!.GetValue<string>(), updated["RevisionId"]!.GetValue<string>());

        await Cli("create-alias", "--function-name", name, "--name", "old", "--function-version", "1");
        var all = (await Cli("list-aliases", "--function-name", name)).Json["Aliases"]!.AsArray().Select(a => a!["Name"]!.GetValue<string>());
        Assert.Equal(["live", "old"], all);
        var onOne = (await Cli("list-aliases", "--function-name", name, "--function-version", "1")).Json["Aliases"]!.AsArray().Select(a => a!["Name"]!.GetValue<string>());
        Assert.Equal(["old"], onOne);

        var invoked = await shared.InvokeAsync(name, qualifier: "old");
        Assert.Equal("1", invoked.Headers["X-Amz-Executed-Version"]);
        Assert.Equal($"arn:aws:lambda:us-east-1:{Account}:function:{name}:old", invoked.Json!["arn"]!.GetValue<string>());

        await Cli("delete-alias", "--function-name", name, "--name", "old");
        await Refused("ResourceNotFoundException", "invoke", "--function-name", $"{name}:old", "/dev/null");
        await Cli("delete-function", "--function-name", name, "--qualifier", "1");
        await Refused("ResourceNotFoundException", "get-function", "--function-name", name, "--qualifier", "1");
    }

    [Fact]
    public async Task Alias_WithWeight_SplitsTenThousandInvocationsWithinTwoPoints()
    {
        var name = Names.New("canary");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", VersionReporter());
        await Http(HttpMethod.Post, $"2015-03-31/functions/{name}/versions", new JsonObject(), 201);
        await Http(HttpMethod.Put, $"2015-03-31/functions/{name}/configuration", new JsonObject { ["Description"] = "v2" }, 200);
        await Http(HttpMethod.Post, $"2015-03-31/functions/{name}/versions", new JsonObject(), 201);
        await Http(HttpMethod.Post, $"2015-03-31/functions/{name}/aliases", new JsonObject
        {
            ["Name"] = "canary",
            ["FunctionVersion"] = "1",
            ["RoutingConfig"] = new JsonObject { ["AdditionalVersionWeights"] = new JsonObject { ["2"] = 0.3 } },
        }, 201);

        const int total = 10_000;
        var executed = new ConcurrentDictionary<string, int>();
        var sandboxVersion = new ConcurrentDictionary<string, string>();
        var mismatches = 0;
        var next = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= total)
            {
                var response = await shared.InvokeAsync(name, qualifier: "canary");
                Assert.Equal(200, response.Status);
                var header = response.Headers["X-Amz-Executed-Version"];
                var ran = response.Json!["version"]!.GetValue<string>();
                executed.AddOrUpdate(header, 1, (_, n) => n + 1);
                if (header != ran || sandboxVersion.GetOrAdd(response.Json!["sandbox"]!.GetValue<string>(), ran) != ran)
                {
                    Interlocked.Increment(ref mismatches);
                }
            }
        }));

        Assert.Equal(0, mismatches);
        Assert.Equal(total, executed.Values.Sum());
        var share = executed.GetValueOrDefault("2") / (double)total;
        Assert.InRange(share, 0.28, 0.32);
        Assert.Equal(["1", "2"], executed.Keys.Order());
    }

    private Task<ClientResult> Cli(params string[] args) => CliOk(shared.Endpoint, args);

    private static async Task<ClientResult> CliOk(string endpoint, string[] args)
    {
        var result = await Clients.AwsAsync(endpoint, ["lambda", .. args]);
        Assert.True(result.ExitCode == 0, $"aws lambda {string.Join(' ', args)}: {result.Stderr}");
        return result;
    }

    private async Task Refused(string errorType, params string[] args)
    {
        var result = await Clients.AwsAsync(shared.Endpoint, ["lambda", .. args]);
        Assert.True(result.ExitCode != 0, $"aws lambda {string.Join(' ', args)} should fail");
        Assert.Contains($"({errorType})", result.Stderr, StringComparison.Ordinal);
    }

    private async Task Http(HttpMethod method, string path, JsonNode body, int status)
    {
        using var request = new HttpRequestMessage(method, path) { Content = SharedServer.Json(body) };
        using var response = await shared.Http.SendAsync(request);
        Assert.True((int)response.StatusCode == status, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
