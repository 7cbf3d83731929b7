using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>The hayate command line as a user types it: help, deploy, invoke, logs, and its exit codes.</summary>
public sealed class CliTests(SharedServer shared)
{
    private const string EchoPython = "def handler(event, context):\n    print('echo handler saw', event)\n    return event\n";

    [Theory]
    [InlineData(new string[0], new[] { "serve", "invoke", "deploy", "logs", "--help" })]
    [InlineData(new[] { "serve" }, new[] { "--host", "--port", "--data", "--idle-timeout", "--isolation", "--concurrency", "--region", "--verbose" })]
    [InlineData(new[] { "invoke" }, new[] { "<name>", "--payload", "--async", "--log", "--endpoint" })]
    [InlineData(new[] { "deploy" }, new[] { "<dir>", "--name", "--runtime", "--handler", "--memory", "--timeout", "--env", "--role", "--endpoint" })]
    [InlineData(new[] { "logs" }, new[] { "<name>", "--follow", "--endpoint" })]
    public async Task Help_EveryCommand_ExitsZeroAndListsItsOptions(string[] command, string[] expected)
    {
        var result = await Clients.HayateAsync([.. command, "--help"]);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        foreach (var text in expected)
        {
            Assert.Contains(text, result.Stdout, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Deploy_TwiceWithChangedCode_CreatesThenUpdatesAndInvokeRunsNewCode()
    {
        var name = Names.New("cli-deploy");
        var dir = Paths.NewTempDirectory("cli-src");
        await File.WriteAllTextAsync(Path.Combine(dir, "app.py"), "import os\ndef handler(event, context):\n    return {'v': 1, 'color': os.environ.get('COLOR')}\n");

        var first = await Clients.HayateAsync("deploy", dir, "--name", name, "--runtime", "python3.12", "--handler", "app.handler", "--endpoint", shared.Endpoint);
        Assert.True(first.ExitCode == 0, $"exit {first.ExitCode}: {first.Stderr}");
        var created = first.Json;
        Assert.Equal(name, created["FunctionName"]!.GetValue<string>());
        Assert.Equal("python3.12", created["Runtime"]!.GetValue<string>());
        Assert.Equal("app.handler", created["Handler"]!.GetValue<string>());
        Assert.Equal("Active", created["State"]!.GetValue<string>());

        var ran = await Clients.HayateAsync("invoke", name, "--endpoint", shared.Endpoint);
        Assert.True(ran.ExitCode == 0, ran.Stderr);
        Assert.Equal(1, JsonNode.Parse(ran.Stdout)!["v"]!.GetValue<int>());

        await File.WriteAllTextAsync(Path.Combine(dir, "app.py"), "import os\ndef handler(event, context):\n    return {'v': 2, 'color': os.environ.get('COLOR')}\n");
        var second = await Clients.HayateAsync("deploy", dir, "--name", name, "--runtime", "python3.13", "--handler", "app.handler",
            "--memory", "256", "--timeout", "20", "--env", "COLOR=teal", "--endpoint", shared.Endpoint);
        Assert.True(second.ExitCode == 0, $"exit {second.ExitCode}: {second.Stderr}");
        var updated = second.Json;
        Assert.Equal(name, updated["FunctionName"]!.GetValue<string>());
        Assert.NotEqual(created["CodeSha256"]!.GetValue<string>(), updated["CodeSha256"]!.GetValue<string>());
        Assert.NotEqual(created["RevisionId"]!.GetValue<string>(), updated["RevisionId"]!.GetValue<string>());
        Assert.Equal("python3.13", updated["Runtime"]!.GetValue<string>());
        Assert.Equal(256, updated["MemorySize"]!.GetValue<int>());
        Assert.Equal(20, updated["Timeout"]!.GetValue<int>());
        Assert.Equal("teal", updated["Environment"]!["Variables"]!["COLOR"]!.GetValue<string>());

        // The server agrees, and the new code runs.
        using var get = await shared.Http.GetAsync($"2015-03-31/functions/{name}/configuration");
        Assert.Equal(updated["CodeSha256"]!.GetValue<string>(), JsonNode.Parse(await get.Content.ReadAsStringAsync())!["CodeSha256"]!.GetValue<string>());
        var after = await Clients.HayateAsync("invoke", name, "--endpoint", shared.Endpoint);
        Assert.True(after.ExitCode == 0, after.Stderr);
        Assert.Equal(2, JsonNode.Parse(after.Stdout)!["v"]!.GetValue<int>());
        Assert.Equal("teal", JsonNode.Parse(after.Stdout)!["color"]!.GetValue<string>());
    }

    [Fact]
    public async Task Serve_BadOptions_SaysEveryProblemByItsFlagInOneLineEach_AndExitsTwo()
    {
        var data = Path.Combine(Paths.NewTempDirectory("hayate-bad-options"), "data");
        var result = await Clients.HayateAsync("serve", "--data", data, "--host", "myhost", "--port", "70000", "--isolation", "jail",
            "--idle-timeout", "0", "--concurrency", "0", "--region", "mars", "--async-retry-delay", "-1", "--master-key-file", "/no/such/key");

        Assert.Equal(2, result.ExitCode);
        foreach (var said in new[]
        {
            "--host myhost: must be an IP address", "--port 70000: must be between 0 and 65535", "--isolation jail: must be auto, bwrap or process",
            "--idle-timeout 0: must be more than 0 seconds", "--concurrency 0: must be at least 1", "--region mars: must be a region name",
            "--async-retry-delay -1: must be 0 seconds or more", "--master-key-file /no/such/key: no such file",
        })
        {
            Assert.Contains("hayate serve: " + said, result.Stderr, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data), "a refused start created the data directory");
    }

    [Fact]
    public async Task Deploy_MissingFolder_ExitsNonZeroAndCreatesNothing()
    {
        var name = Names.New("cli-nodir");
        var result = await Clients.HayateAsync("deploy", Path.Combine(Path.GetTempPath(), "no-such-" + Guid.NewGuid().ToString("N")),
            "--name", name, "--runtime", "python3.12", "--handler", "app.handler", "--endpoint", shared.Endpoint);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("no such folder", result.Stderr, StringComparison.OrdinalIgnoreCase);
        using var get = await shared.Http.GetAsync($"2015-03-31/functions/{name}");
        Assert.Equal(404, (int)get.StatusCode);
    }

    [Fact]
    public async Task Deploy_RefusedByServer_ExitsTwoWithTheErrorOnStderr()
    {
        var name = Names.New("cli-refuse");
        var dir = Paths.NewTempDirectory("cli-src");
        await File.WriteAllTextAsync(Path.Combine(dir, "app.py"), EchoPython);
        var result = await Clients.HayateAsync("deploy", dir, "--name", name, "--runtime", "cobol", "--handler", "app.handler", "--endpoint", shared.Endpoint);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("InvalidParameterValueException", result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout.Trim());
    }

    [Fact]
    public async Task Invoke_WithPayload_PrintsTheResponseAndExitsZero()
    {
        var name = Names.New("cli-inv");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", EchoPython)));
        var result = await Clients.HayateAsync("invoke", name, "--payload", """{"greeting":"hi","n":[1,2,3]}""", "--endpoint", shared.Endpoint);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        var printed = JsonNode.Parse(result.Stdout)!;
        Assert.Equal("hi", printed["greeting"]!.GetValue<string>());
        Assert.Equal(3, printed["n"]!.AsArray().Count);

        // --log puts the tail on stderr, keeping stdout for the payload alone.
        var logged = await Clients.HayateAsync("invoke", name, "--payload", """{"x":1}""", "--log", "--endpoint", shared.Endpoint);
        Assert.Equal(0, logged.ExitCode);
        Assert.Equal(1, JsonNode.Parse(logged.Stdout)!["x"]!.GetValue<int>());
        Assert.Contains("echo handler saw", logged.Stderr, StringComparison.Ordinal);
        Assert.Contains("REPORT RequestId:", logged.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invoke_FunctionRaises_ExitsOneAndPrintsTheError()
    {
        var name = Names.New("cli-raise");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(event, context):\n    raise ValueError('cli saw this')\n")));
        var result = await Clients.HayateAsync("invoke", name, "--endpoint", shared.Endpoint);
        Assert.Equal(1, result.ExitCode);
        var error = JsonNode.Parse(result.Stdout)!;
        Assert.Equal("ValueError", error["errorType"]!.GetValue<string>());
        Assert.Equal("cli saw this", error["errorMessage"]!.GetValue<string>());
    }

    [Fact]
    public async Task Invoke_MissingFunction_ExitsTwoWithErrorOnStderr()
    {
        var name = Names.New("cli-none");
        var result = await Clients.HayateAsync("invoke", name, "--endpoint", shared.Endpoint);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("ResourceNotFoundException", result.Stderr, StringComparison.Ordinal);
        Assert.Contains(name, result.Stderr, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout.Trim());
    }

    [Theory]
    [InlineData("invoke")]
    [InlineData("logs")]
    [InlineData("deploy")]
    public async Task ClientCommand_ServerUnreachable_ExitsThreeSayingItCannotReachTheServer(string command)
    {
        var dir = Paths.NewTempDirectory("cli-src");
        await File.WriteAllTextAsync(Path.Combine(dir, "app.py"), EchoPython);
        string[] args = command switch
        {
            "deploy" => ["deploy", dir, "--name", "x", "--runtime", "python3.12", "--handler", "app.handler", "--endpoint", "http://127.0.0.1:1"],
            _ => [command, "some-function", "--endpoint", "http://127.0.0.1:1"],
        };
        var result = await Clients.HayateAsync(args);
        Assert.Equal(3, result.ExitCode);
        Assert.Contains("cannot reach the server", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:1", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_AfterInvocations_PrintsStartEndAndReportLines()
    {
        var name = Names.New("cli-logs");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", EchoPython)));
        var tag = Guid.NewGuid().ToString("N");
        var invoked = await shared.InvokeAsync(name, $$"""{"tag":"{{tag}}"}""");
        Assert.Equal(200, invoked.Status);

        // Logs are stored off the invoke path: wait (bounded, on the server's long poll) until the REPORT line is in.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        long after = 0;
        var seen = "";
        while (!seen.Contains("REPORT RequestId:", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            using var poll = await shared.Http.GetAsync($"_hayate/logs/{name}?after={after}&wait=5");
            var page = JsonNode.Parse(await poll.Content.ReadAsStringAsync())!;
            seen += string.Join("\n", page["events"]!.AsArray().Select(e => e!["message"]!.GetValue<string>()));
            after = page["nextToken"]!.GetValue<long>();
        }

        var result = await Clients.HayateAsync("logs", name, "--endpoint", shared.Endpoint);
        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        var lines = result.Stdout.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("START RequestId: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("END RequestId: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("REPORT RequestId: ", StringComparison.Ordinal));
        Assert.Contains(tag, result.Stdout, StringComparison.Ordinal);
        var start = Array.FindIndex(lines, l => l.StartsWith("START RequestId: ", StringComparison.Ordinal));
        var end = Array.FindIndex(lines, l => l.StartsWith("END RequestId: ", StringComparison.Ordinal));
        Assert.True(start < end, result.Stdout);
    }

    [Fact]
    public async Task Serve_PortOutOfRange_ExitsNonZeroNamingPort()
    {
        var result = await Clients.HayateAsync("serve", "--port", "99999", "--data", Paths.NewTempDirectory("cli-serve"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--port", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_UnknownIsolation_ExitsNonZeroNamingTheOption()
    {
        var result = await Clients.HayateAsync("serve", "--port", "0", "--isolation", "nope", "--data", Paths.NewTempDirectory("cli-serve"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("--isolation", result.Stderr, StringComparison.Ordinal);
    }
}
