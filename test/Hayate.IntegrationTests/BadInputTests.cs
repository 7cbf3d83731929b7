using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>Bad requests are refused in the AWS error shape, never crash the server and never leave half a function behind.</summary>
public sealed class BadInputTests(SharedServer shared)
{
    private const string Role = "arn:aws:iam::000000000000:role/test";

    private static readonly byte[] GoodZip = Zip.Of(("app.py", "def handler(event, context):\n    return event\n"));

    /// <summary>A small zip that expands past Lambda's 262,144,000-byte unzipped limit (250 MiB).</summary>
    private static readonly Lazy<byte[]> Bomb = new(() =>
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var entry = archive.CreateEntry("zeros.bin", CompressionLevel.SmallestSize);
            using var stream = entry.Open();
            var chunk = new byte[1 << 20];
            long left = 270_000_000;
            while (left > 0)
            {
                var n = (int)Math.Min(chunk.Length, left);
                stream.Write(chunk, 0, n);
                left -= n;
            }
        }

        return buffer.ToArray();
    });

    private static JsonObject CreateBody(string name, byte[]? zip = null) => new()
    {
        ["FunctionName"] = name,
        ["Runtime"] = "python3.12",
        ["Handler"] = "app.handler",
        ["Role"] = Role,
        ["Code"] = new JsonObject { ["ZipFile"] = Convert.ToBase64String(zip ?? GoodZip) },
    };

    private static StringContent RawJson(string text)
    {
        var content = new StringContent(text, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private async Task<JsonObject> CreateRefusedAsync(HttpContent content, int status, string type)
    {
        using var response = await shared.Http.PostAsync("2015-03-31/functions", content);
        return await WireAssert.ErrorAsync(response, status, type);
    }

    /// <summary>The refused function does not exist, and the server still answers calls.</summary>
    private async Task AssertNoFunctionAndServerAliveAsync(string name)
    {
        using (var get = await shared.Http.GetAsync($"2015-03-31/functions/{Uri.EscapeDataString(name)}"))
        {
            await WireAssert.ErrorAsync(get, 404, "ResourceNotFoundException");
        }

        await AssertServerAliveAsync();
    }

    private async Task AssertServerAliveAsync()
    {
        Assert.False(shared.Server.Process.HasExited, "the server exited:\n" + shared.Server.StandardError);
        using var list = await shared.Http.GetAsync("2015-03-31/functions?MaxItems=1");
        Assert.Equal(200, (int)list.StatusCode);
    }

    /// <summary>After a refusal the same name can still be created properly: nothing was half-made.</summary>
    private async Task AssertNameStillFreeAsync(string name)
    {
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", GoodZip);
        var response = await shared.InvokeAsync(name, """{"ok":1}""");
        Assert.Equal(200, response.Status);
        Assert.Equal(1, response.Json!["ok"]!.GetValue<int>());
    }

    [Fact]
    public async Task CreateFunction_MalformedJson_Answers400InvalidRequestContent()
    {
        var name = Names.New("bad-json");
        await CreateRefusedAsync(RawJson($$"""{"FunctionName": "{{name}}", "Runtime": "python3.12", "Handler": """), 400, "InvalidRequestContentException");
        await AssertNoFunctionAndServerAliveAsync(name);
        await CreateRefusedAsync(RawJson($$"""{"FunctionName": "{{name}}",,}"""), 400, "InvalidRequestContentException");
        await CreateRefusedAsync(RawJson("[1, 2, 3]"), 400, "InvalidRequestContentException");
        await CreateRefusedAsync(RawJson("null"), 400, "InvalidRequestContentException");
        await AssertNoFunctionAndServerAliveAsync(name);
        await AssertNameStillFreeAsync(name);
    }

    [Theory]
    [InlineData("MemorySize", "\"abc\"")]
    [InlineData("Timeout", "true")]
    [InlineData("Environment", "\"A=B\"")]
    [InlineData("Code", "\"not an object\"")]
    [InlineData("Runtime", "12")]
    public async Task CreateFunction_WrongMemberType_Answers400(string member, string json)
    {
        var name = Names.New("bad-type");
        var body = CreateBody(name);
        body[member] = JsonNode.Parse(json);
        using (var response = await shared.Http.PostAsync("2015-03-31/functions", SharedServer.Json(body)))
        {
            // AWS words these as a serialization failure; the type may vary, the refusal may not.
            await WireAssert.ErrorAsync(response, 400, response.Headers.TryGetValues("x-amzn-ErrorType", out var t) ? t.First() : "(none)");
        }

        await AssertNoFunctionAndServerAliveAsync(name);
    }

    [Fact]
    public async Task CreateFunction_NameBreakingThePattern_Answers400Validation()
    {
        foreach (var bad in new[] { "bad name!", "a/b", new string('n', 65), "" })
        {
            var body = CreateBody(bad);
            await CreateRefusedAsync(SharedServer.Json(body), 400, "ValidationException");
        }

        // Nothing by that name was listed.
        using var list = await shared.Http.GetAsync("2015-03-31/functions?MaxItems=10000");
        Assert.DoesNotContain("bad name!", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await AssertServerAliveAsync();
    }

    [Fact]
    public async Task CreateFunction_NameWithTrailingNewline_Answers400AndCreatesNothing()
    {
        // The model's pattern is anchored on the whole value: "name\n" is not a valid name, and must not become "name".
        var name = Names.New("bad-nl");
        await CreateRefusedAsync(SharedServer.Json(CreateBody(name + "\n")), 400, "ValidationException");
        await AssertNoFunctionAndServerAliveAsync(name);
    }

    [Fact]
    public async Task GetFunction_NameWithTrailingNewline_DoesNotFindTheFunction()
    {
        var name = Names.New("bad-nlget");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", GoodZip);
        using var response = await shared.Http.GetAsync($"2015-03-31/functions/{name}%0A");
        Assert.True((int)response.StatusCode is 400 or 404, $"GetFunction of '{name}\\n' answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task CreateFunction_SameNameConcurrently_ExactlyOneSucceedsOthers409()
    {
        var name = Names.New("bad-race");
        var attempts = await Task.WhenAll(Enumerable.Range(0, 6).Select(async i =>
        {
            using var response = await shared.Http.PostAsync("2015-03-31/functions", SharedServer.Json(CreateBody(name, Zip.Of(("app.py", $"def handler(e, c):\n    return {i}\n")))));
            var type = response.Headers.TryGetValues("x-amzn-ErrorType", out var t) ? t.First() : "";
            return ((int)response.StatusCode, type);
        }));
        Assert.Equal(1, attempts.Count(a => a.Item1 == 201));
        Assert.All(attempts.Where(a => a.Item1 != 201), a => Assert.Equal((409, "ResourceConflictException"), a));
        Assert.Equal(200, (await shared.InvokeAsync(name)).Status);
    }

    [Fact]
    public async Task CreateFunction_ZippedCodeOver50MB_Answers413AndCreatesNothing()
    {
        var name = Names.New("bad-huge");
        // Incompressible and stored: just over the 52,428,800-byte zipped limit, yet under the 69,905,067-byte request limit once base64-encoded.
        var random = new byte[52_500_000];
        Random.Shared.NextBytes(random);
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var entry = archive.CreateEntry("blob.bin", CompressionLevel.NoCompression);
            using var stream = entry.Open();
            stream.Write(random);
        }

        using var response = await shared.Http.PostAsync("2015-03-31/functions", SharedServer.Json(CreateBody(name, buffer.ToArray())));
        var type = response.Headers.TryGetValues("x-amzn-ErrorType", out var t) ? t.First() : "(none)";
        Assert.True(type is "RequestEntityTooLargeException" or "RequestTooLargeException", type);
        await WireAssert.ErrorAsync(response, 413, type);
        await AssertNoFunctionAndServerAliveAsync(name);
    }

    [Theory]
    [InlineData("Runtime", "\"java21\"", "InvalidParameterValueException")]
    [InlineData("Runtime", "\"cobol\"", "InvalidParameterValueException")]
    [InlineData("MemorySize", "64", null)]
    [InlineData("MemorySize", "20000", null)]
    [InlineData("Timeout", "0", null)]
    [InlineData("Timeout", "901", null)]
    [InlineData("EphemeralStorage", "{\"Size\": 100}", null)]
    [InlineData("Handler", "\"has space.handler\"", null)]
    [InlineData("Role", "\"not-a-role\"", null)]
    [InlineData("Environment", "{\"Variables\": {\"AWS_REGION\": \"eu-west-1\"}}", "InvalidParameterValueException")]
    [InlineData("Environment", "{\"Variables\": {\"1BAD\": \"x\"}}", null)]
    public async Task CreateFunction_InvalidSetting_Answers400AndCreatesNothing(string member, string json, string? type)
    {
        var name = Names.New("bad-set");
        var body = CreateBody(name);
        body[member] = JsonNode.Parse(json);
        using var response = await shared.Http.PostAsync("2015-03-31/functions", SharedServer.Json(body));
        var actualType = response.Headers.TryGetValues("x-amzn-ErrorType", out var types) ? types.First() : "";
        // Range and pattern breaks are ValidationException or InvalidParameterValueException depending on where AWS checks them.
        Assert.True(type is not null || actualType is "ValidationException" or "InvalidParameterValueException",
            $"{member}={json} answered {(int)response.StatusCode} {actualType}");
        await WireAssert.ErrorAsync(response, 400, type ?? actualType);
        await AssertNoFunctionAndServerAliveAsync(name);
    }

    [Fact]
    public async Task CreateFunction_EmptyBodyOrMissingMembers_Answers400()
    {
        using (var empty = new ByteArrayContent([]))
        {
            empty.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await shared.Http.PostAsync("2015-03-31/functions", empty);
            await WireAssert.ErrorAsync(response, 400, response.Headers.TryGetValues("x-amzn-ErrorType", out var t) ? t.First() : "(none)");
        }

        var name = Names.New("bad-miss");
        foreach (var member in new[] { "Code", "Role", "Runtime", "Handler" })
        {
            var body = CreateBody(name);
            body.Remove(member);
            using var response = await shared.Http.PostAsync("2015-03-31/functions", SharedServer.Json(body));
            Assert.True((int)response.StatusCode == 400, $"CreateFunction without {member} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        var noZip = CreateBody(name);
        noZip["Code"] = new JsonObject();
        using (var response = await shared.Http.PostAsync("2015-03-31/functions", SharedServer.Json(noZip)))
        {
            await WireAssert.ErrorAsync(response, 400, "InvalidParameterValueException");
        }

        await AssertNoFunctionAndServerAliveAsync(name);
    }

    [Fact]
    public async Task CreateFunction_ZipFileNotAZip_Answers400InvalidParameterValue()
    {
        var name = Names.New("bad-zip");
        await CreateRefusedAsync(SharedServer.Json(CreateBody(name, Encoding.UTF8.GetBytes("this is plainly not a zip archive"))), 400, "InvalidParameterValueException");
        await AssertNoFunctionAndServerAliveAsync(name);
        // A zip cut in half is not one either.
        await CreateRefusedAsync(SharedServer.Json(CreateBody(name, GoodZip[..(GoodZip.Length / 2)])), 400, "InvalidParameterValueException");
        await AssertNoFunctionAndServerAliveAsync(name);
        // Nor is base64 that does not decode.
        var body = CreateBody(name);
        body["Code"] = new JsonObject { ["ZipFile"] = "%%% not base64 %%%" };
        using (var response = await shared.Http.PostAsync("2015-03-31/functions", SharedServer.Json(body)))
        {
            Assert.Equal(400, (int)response.StatusCode);
        }

        await AssertNoFunctionAndServerAliveAsync(name);
        await AssertNameStillFreeAsync(name);
    }

    [Theory]
    [InlineData("../evil.py")]
    [InlineData("../../evil.py")]
    [InlineData("/etc/evil")]
    [InlineData("ok/../../evil.py")]
    public async Task CreateFunction_ZipEntryEscapingTheCodeDirectory_Answers400AndWritesNothingOutside(string entry)
    {
        var name = Names.New("bad-slip");
        var zip = Zip.Of(("app.py", "def handler(e, c):\n    return 1\n"), (entry, "print('pwned')\n"));
        await CreateRefusedAsync(SharedServer.Json(CreateBody(name, zip)), 400, "InvalidParameterValueException");
        await AssertNoFunctionAndServerAliveAsync(name);

        var data = shared.Server.DataDirectory;
        var escaped = Directory.EnumerateFiles(data, "evil*", SearchOption.AllDirectories)
            .Concat(Directory.EnumerateFiles(Path.GetDirectoryName(Path.GetFullPath(data))!, "evil*", SearchOption.TopDirectoryOnly))
            .ToList();
        Assert.True(escaped.Count == 0, "files written by a refused zip: " + string.Join(", ", escaped));
        Assert.False(File.Exists("/etc/evil"), "/etc/evil was written");
    }

    [Fact]
    public async Task UpdateFunctionCode_ZipSlip_Answers400AndKeepsTheOldCode()
    {
        var name = Names.New("bad-upd");
        var created = await shared.CreateFunctionAsync(name, "python3.12", "app.handler", GoodZip);
        var zip = Zip.Of(("app.py", "def handler(e, c):\n    return 'evil'\n"), ("../evil.py", "x = 1\n"));
        using (var response = await shared.Http.PutAsync($"2015-03-31/functions/{name}/code", SharedServer.Json(new JsonObject { ["ZipFile"] = Convert.ToBase64String(zip) })))
        {
            await WireAssert.ErrorAsync(response, 400, "InvalidParameterValueException");
        }

        using (var response = await shared.Http.PutAsync($"2015-03-31/functions/{name}/code", SharedServer.Json(new JsonObject { ["ZipFile"] = Convert.ToBase64String("nope"u8.ToArray()) })))
        {
            await WireAssert.ErrorAsync(response, 400, "InvalidParameterValueException");
        }

        using var get = await shared.Http.GetAsync($"2015-03-31/functions/{name}/configuration");
        var config = JsonNode.Parse(await get.Content.ReadAsStringAsync())!;
        Assert.Equal(created["CodeSha256"]!.GetValue<string>(), config["CodeSha256"]!.GetValue<string>());
        Assert.Equal(created["RevisionId"]!.GetValue<string>(), config["RevisionId"]!.GetValue<string>());
        Assert.Equal(7, (await shared.InvokeAsync(name, "7")).Json!.GetValue<int>());
    }

    [Fact]
    public async Task CreateFunction_ZipBomb_Answers400UnzippedSizeAndServerSurvives()
    {
        var name = Names.New("bad-bomb");
        var bomb = Bomb.Value;
        Assert.True(bomb.Length < 1_000_000, $"the bomb should be small, it is {bomb.Length} bytes");
        var error = await CreateRefusedAsync(SharedServer.Json(CreateBody(name, bomb)), 400, "InvalidParameterValueException");
        Assert.Contains("Unzipped size", error["message"]?.GetValue<string>() ?? error["Message"]!.GetValue<string>(), StringComparison.Ordinal);
        await AssertNoFunctionAndServerAliveAsync(name);

        // Not kept on disk either: no code directory holds the expanded zeros.
        var leftovers = Directory.EnumerateFiles(shared.Server.DataDirectory, "zeros.bin", SearchOption.AllDirectories).ToList();
        Assert.True(leftovers.Count == 0, "the refused bomb left " + string.Join(", ", leftovers));
        await AssertNameStillFreeAsync(name);
    }

    [Fact]
    public async Task CreateFunction_ReservedEnvironmentVariableWithBoto3_RaisesInvalidParameterValue()
    {
        var name = Names.New("bad-env");
        var result = await Clients.Boto3Async(shared.Endpoint, $$"""
            out = {}
            zip = base64.b64decode('{{Convert.ToBase64String(GoodZip)}}')
            for label, kwargs in [('reserved', {'Environment': {'Variables': {'AWS_REGION': 'eu-west-1'} } }),
                                  ('runtime', {'Runtime': 'cobol'}),
                                  ('memory', {'MemorySize': 20000}),
                                  ('timeout', {'Timeout': 901}),
                                  ('notzip', {'Code': {'ZipFile': b'not a zip'} })]:
                args = dict(FunctionName='{{name}}', Runtime='python3.12', Role='{{Role}}', Handler='app.handler', Code={'ZipFile': zip})
                args.update(kwargs)
                try:
                    lambda_client.create_function(**args)
                    out[label] = 'created'
                except botocore.exceptions.ClientError as e:
                    out[label] = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Message']]
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        foreach (var label in new[] { "reserved", "runtime", "memory", "timeout", "notzip" })
        {
            Assert.True(json[label] is JsonArray, $"{label}: {json[label]?.ToJsonString()}");
            Assert.Equal(400, json[label]![1]!.GetValue<int>());
        }

        Assert.Equal("InvalidParameterValueException", json["reserved"]![0]!.GetValue<string>());
        Assert.Contains("AWS_REGION", json["reserved"]![2]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("InvalidParameterValueException", json["runtime"]![0]!.GetValue<string>());
        Assert.Equal("InvalidParameterValueException", json["notzip"]![0]!.GetValue<string>());
        await AssertNoFunctionAndServerAliveAsync(name);
    }

    [Fact]
    public async Task CreateFunction_UnsupportedRuntimeWithAwsCli_FailsWithInvalidParameterValue()
    {
        var name = Names.New("bad-cli");
        var zip = Zip.WriteTemp(GoodZip);
        var result = await Clients.AwsAsync(shared.Endpoint, "lambda", "create-function", "--function-name", name, "--runtime", "java21",
            "--handler", "app.handler", "--role", Role, "--zip-file", "fileb://" + zip);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("InvalidParameterValueException", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("java21", result.Stderr, StringComparison.Ordinal);
        await AssertNoFunctionAndServerAliveAsync(name);
    }

    [Fact]
    public async Task UpdateFunctionConfiguration_InvalidValues_Answer400AndChangeNothing()
    {
        var name = Names.New("bad-ucfg");
        var created = await shared.CreateFunctionAsync(name, "python3.12", "app.handler", GoodZip);
        foreach (var body in new[]
        {
            """{"MemorySize": 64}""", """{"MemorySize": 20000}""", """{"Timeout": 0}""", """{"Timeout": 901}""",
            """{"Runtime": "cobol"}""", """{"Environment": {"Variables": {"AWS_REGION": "x"}}}""", """{"MemorySize": "abc"}""", """{"Timeout": """,
        })
        {
            using var response = await shared.Http.PutAsync($"2015-03-31/functions/{name}/configuration", RawJson(body));
            Assert.True((int)response.StatusCode == 400, $"{body} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        using var get = await shared.Http.GetAsync($"2015-03-31/functions/{name}/configuration");
        var config = JsonNode.Parse(await get.Content.ReadAsStringAsync())!;
        Assert.Equal(created["RevisionId"]!.GetValue<string>(), config["RevisionId"]!.GetValue<string>());
        Assert.Equal(128, config["MemorySize"]!.GetValue<int>());
        Assert.Equal(3, config["Timeout"]!.GetValue<int>());
        Assert.Equal("python3.12", config["Runtime"]!.GetValue<string>());
    }

    [Fact]
    public async Task Invoke_PayloadOver6MB_Answers413RequestTooLarge()
    {
        var name = Names.New("bad-big");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", GoodZip);
        var payload = "\"" + new string('a', (6 * 1024 * 1024) + 16) + "\"";
        using var request = new HttpRequestMessage(HttpMethod.Post, $"2015-03-31/functions/{name}/invocations") { Content = new StringContent(payload, Encoding.UTF8) };
        using var response = await shared.Http.SendAsync(request);
        await WireAssert.ErrorAsync(response, 413, "RequestTooLargeException");
        // The function is unharmed.
        Assert.Equal("\"small\"", (await shared.InvokeAsync(name, "\"small\"")).Body);
    }

    [Fact]
    public async Task Invoke_EventPayloadOver256KB_Answers413RequestTooLarge()
    {
        var name = Names.New("bad-evt");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", GoodZip);
        var payload = "\"" + new string('a', (256 * 1024) + 16) + "\"";
        using var request = new HttpRequestMessage(HttpMethod.Post, $"2015-03-31/functions/{name}/invocations") { Content = new StringContent(payload, Encoding.UTF8) };
        request.Headers.Add("X-Amz-Invocation-Type", "Event");
        using var response = await shared.Http.SendAsync(request);
        await WireAssert.ErrorAsync(response, 413, "RequestTooLargeException");
        // The same payload is fine synchronously (under 6 MB).
        var sync = await shared.InvokeAsync(name, payload);
        Assert.Equal(200, sync.Status);
        Assert.Equal(payload.Length, sync.Body.Length);
    }

    [Fact]
    public async Task Invoke_PayloadNotJson_Answers400InvalidRequestContent()
    {
        var name = Names.New("bad-pay");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", GoodZip);
        foreach (var payload in new[] { "this is not json", "{\"a\":", "{'single': 'quotes'}" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"2015-03-31/functions/{name}/invocations") { Content = new StringContent(payload, Encoding.UTF8) };
            using var response = await shared.Http.SendAsync(request);
            await WireAssert.ErrorAsync(response, 400, "InvalidRequestContentException");
        }

        Assert.Equal(200, (await shared.InvokeAsync(name, "[1]")).Status);
    }

    [Theory]
    [InlineData("X-Amz-Invocation-Type", "Bogus", "ValidationException")]
    [InlineData("X-Amz-Log-Type", "Everything", "ValidationException")]
    [InlineData("X-Amz-Client-Context", "%%% not base64 %%%", "InvalidRequestContentException")]
    public async Task Invoke_BadHeader_Answers400InTheErrorShape(string header, string value, string type)
    {
        var name = Names.New("bad-hdr");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", GoodZip);
        using var request = new HttpRequestMessage(HttpMethod.Post, $"2015-03-31/functions/{name}/invocations") { Content = new StringContent("{}", Encoding.UTF8) };
        request.Headers.TryAddWithoutValidation(header, value);
        using var response = await shared.Http.SendAsync(request);
        await WireAssert.ErrorAsync(response, 400, type);
    }

    [Fact]
    public async Task Invoke_MissingFunction_Answers404ResourceNotFound()
    {
        var name = Names.New("bad-none");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"2015-03-31/functions/{name}/invocations") { Content = new StringContent("{}", Encoding.UTF8) };
        using var response = await shared.Http.SendAsync(request);
        var body = await WireAssert.ErrorAsync(response, 404, "ResourceNotFoundException");
        Assert.Equal($"Function not found: arn:aws:lambda:us-east-1:000000000000:function:{name}", (body["Message"] ?? body["message"])!.GetValue<string>());

        var outFile = Path.Combine(Paths.NewTempDirectory("out"), "out.json");
        var cli = await Clients.AwsAsync(shared.Endpoint, "lambda", "invoke", "--function-name", name, "--payload", "{}", outFile);
        Assert.NotEqual(0, cli.ExitCode);
        Assert.Contains("ResourceNotFoundException", cli.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "no/such/path")]
    [InlineData("POST", "2015-03-31/nothing-here")]
    [InlineData("GET", "2015-03-31/functions/x/y/z")]
    public async Task UnknownPath_Answers404InTheErrorShape(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{}", Encoding.UTF8) };
        using var response = await shared.Http.SendAsync(request);
        Assert.Equal(404, (int)response.StatusCode);
        await WireAssert.ErrorAsync(response, 404, response.Headers.TryGetValues("x-amzn-ErrorType", out var t) ? t.First() : "(none)");
        await AssertServerAliveAsync();
    }

    [Theory]
    [InlineData("MaxItems=0")]
    [InlineData("MaxItems=abc")]
    [InlineData("MaxItems=10001")]
    [InlineData("Marker=%25%25%25")]
    public async Task ListFunctions_BadPagingParameters_Answer400(string query)
    {
        using var response = await shared.Http.GetAsync("2015-03-31/functions?" + query);
        Assert.Equal(400, (int)response.StatusCode);
        await WireAssert.ErrorAsync(response, 400, response.Headers.TryGetValues("x-amzn-ErrorType", out var t) ? t.First() : "(none)");
    }
}
