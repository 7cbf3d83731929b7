using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>Functions that hang, crash, eat memory or fork without end: each fails alone, and the server goes on.</summary>
public sealed class FaultTests(SharedServer shared)
{
    private static bool Isolated => SharedServer.Bubblewrap && SharedServer.Root;

    [Fact]
    public async Task Invoke_HandlerHangs_TimesOutAndNextCallGetsFreshSandbox()
    {
        var name = Names.New("hang");
        const string code = """
            import time
            print("init")
            def handler(event, context):
                if event.get("hang"):
                    time.sleep(60)
                return "ok"
            """;
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", code)), timeout: 1);
        var started = DateTime.UtcNow;
        var response = await shared.InvokeAsync(name, """{"hang":true}""", tail: true);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(20));
        Assert.Equal(200, response.Status);
        Assert.Equal("Unhandled", response.FunctionError);
        Assert.Equal("Sandbox.Timedout", response.ErrorType);
        Assert.Contains("Task timed out after 1.00 seconds", response.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("Status: timeout", response.Log, StringComparison.Ordinal);

        var next = await shared.InvokeAsync(name, "{}", tail: true);
        Assert.Equal("\"ok\"", next.Body);
        Assert.Contains("Init Duration", next.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invoke_ProcessExits_AnswersExitErrorAndRecovers()
    {
        var name = Names.New("exit");
        const string code = """
            import os
            def handler(event, context):
                if event.get("die"):
                    os._exit(3)
                return "alive"
            """;
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", code)));
        var response = await shared.InvokeAsync(name, """{"die":true}""");
        Assert.Equal("Unhandled", response.FunctionError);
        Assert.Equal("Runtime.ExitError", response.ErrorType);
        Assert.Contains("exit status 3", response.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal("\"alive\"", (await shared.InvokeAsync(name)).Body);
    }

    [Fact]
    public async Task Invoke_ModuleRaisesAtImport_AnswersInitErrorEveryTime()
    {
        var name = Names.New("initerr");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", "raise ValueError('bad config')\ndef handler(e, c):\n    return 1\n")));
        var first = await shared.InvokeAsync(name, tail: true);
        Assert.Equal("Unhandled", first.FunctionError);
        // As AWS's python runtime does: an exception other than ImportError keeps its own type.
        Assert.Equal("ValueError", first.ErrorType);
        Assert.Contains("bad config", first.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("Init Duration", first.Log, StringComparison.Ordinal);
        var second = await shared.InvokeAsync(name);
        Assert.Equal("ValueError", second.ErrorType);
    }

    [Fact]
    public async Task Invoke_AllocatesPastMemorySize_AnswersOutOfMemory()
    {
        Assert.SkipUnless(Isolated, "needs bubblewrap and root for cgroups (CI installs bubblewrap and runs as root)");
        var name = Names.New("oom");
        const string code = """
            def handler(event, context):
                hog = []
                for _ in range(64):
                    hog.append(bytearray(16 * 1024 * 1024))
                return len(hog)
            """;
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", code)), timeout: 30, memory: 128);
        var response = await shared.InvokeAsync(name, tail: true);
        Assert.Equal("Unhandled", response.FunctionError);
        Assert.Equal("Runtime.OutOfMemory", response.ErrorType);
        Assert.Matches(@"Max Memory Used: 1[0-2]\d MB", response.Log);
    }

    [Fact]
    public async Task Invoke_ForkBomb_IsContainedAndOtherFunctionsKeepServing()
    {
        Assert.SkipUnless(Isolated, "needs bubblewrap and root for the pids limit (CI installs bubblewrap and runs as root)");
        var bomb = Names.New("bomb");
        const string code = """
            import os
            def handler(event, context):
                while True:
                    try:
                        os.fork()
                    except OSError:
                        pass
            """;
        await shared.CreateFunctionAsync(bomb, "python3.12", "app.handler", Zip.Of(("app.py", code)), timeout: 3);
        var victim = Names.New("calm");
        await shared.CreateFunctionAsync(victim, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(e, c):\n    return 'calm'\n")));
        await shared.InvokeAsync(victim);

        var bombing = shared.InvokeAsync(bomb);
        for (var i = 0; i < 5; i++)
        {
            var calm = await shared.InvokeAsync(victim);
            Assert.Equal("\"calm\"", calm.Body);
        }

        var result = await bombing;
        Assert.Equal("Unhandled", result.FunctionError);
        // Contained either by the pids limit (the handler spins until its timeout) or by the memory limit.
        Assert.True(result.ErrorType is "Sandbox.Timedout" or "Runtime.OutOfMemory", result.Body);
        Assert.Equal("\"calm\"", (await shared.InvokeAsync(victim)).Body);
    }

    [Fact]
    public async Task Invoke_Sandbox_HasReadOnlyCodePrivateTmpAndNoNetwork()
    {
        Assert.SkipUnless(Isolated, "needs bubblewrap and root (CI installs bubblewrap and runs as root)");
        var name = Names.New("walls");
        var port = new Uri(shared.Endpoint).Port;
        var code = $$"""
            import os, socket
            def handler(event, context):
                result = {}
                try:
                    open("/var/task/new.txt", "w").write("x")
                    result["task_write"] = "allowed"
                except OSError as e:
                    result["task_write"] = type(e).__name__
                open("/tmp/scratch.txt", "w").write("fine")
                result["tmp_write"] = open("/tmp/scratch.txt").read()
                try:
                    socket.create_connection(("127.0.0.1", {{port}}), timeout=1).close()
                    result["host_port"] = "reachable"
                except OSError as e:
                    result["host_port"] = type(e).__name__
                result["uid"] = os.getuid()
                result["pid"] = os.getpid()
                result["home_visible"] = os.path.exists("/root") or os.path.exists("/home")
                return result
            """;
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", code)));
        var response = await shared.InvokeAsync(name);
        Assert.True(response.FunctionError is null, response.Body);
        var json = response.Json!;
        Assert.NotEqual("allowed", json["task_write"]!.GetValue<string>());
        Assert.Equal("fine", json["tmp_write"]!.GetValue<string>());
        Assert.NotEqual("reachable", json["host_port"]!.GetValue<string>());
        Assert.NotEqual(0, json["uid"]!.GetValue<int>());
        Assert.False(json["home_visible"]!.GetValue<bool>());
        Assert.True(json["pid"]!.GetValue<int>() < 10, "the runtime should see its own pid namespace");
    }

    [Fact]
    public async Task Invoke_WritesPastEphemeralStorage_GetsNoSpace()
    {
        Assert.SkipUnless(SharedServer.Bubblewrap, "needs bubblewrap for the private /tmp (CI installs it)");
        var name = Names.New("tmpcap");
        const string code = """
            def handler(event, context):
                chunk = b"x" * (1024 * 1024)
                written = 0
                try:
                    with open("/tmp/fill", "wb") as f:
                        while written < 700:
                            f.write(chunk)
                            written += 1
                        f.flush()
                except OSError as e:
                    return {"error": e.errno, "written_mb": written}
                return {"error": None, "written_mb": written}
            """;
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", code)), timeout: 30, memory: 2048);
        var response = await shared.InvokeAsync(name);
        Assert.True(response.FunctionError is null, response.Body);
        Assert.Equal(28, response.Json!["error"]!.GetValue<int>()); // ENOSPC
        Assert.InRange(response.Json!["written_mb"]!.GetValue<int>(), 400, 512);
    }

    [Fact]
    public async Task Invoke_AfterIdleTimeout_StartsFreshSandbox()
    {
        await using var server = await ServerProcess.StartAsync(null, "--idle-timeout", "1");
        using var http = new HttpClient { BaseAddress = new Uri(server.Endpoint + "/") };
        var name = Names.New("idle");
        await SharedServer.CreateFunctionAsync(http, name, "python3.12", "app.handler", Zip.Of(("app.py", "print('init')\ndef handler(e, c):\n    return 1\n")));

        async Task<string> InvokeLogAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"2015-03-31/functions/{name}/invocations") { Content = new StringContent("{}") };
            request.Headers.Add("X-Amz-Log-Type", "Tail");
            using var response = await http.SendAsync(request);
            return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(response.Headers.GetValues("X-Amz-Log-Result").Single()));
        }

        Assert.Contains("Init Duration", await InvokeLogAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("Init Duration", await InvokeLogAsync(), StringComparison.Ordinal);
        // Time has to pass for an idle sandbox to be reaped; the reaper checks four times per timeout.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        Assert.Contains("Init Duration", await InvokeLogAsync(), StringComparison.Ordinal);
    }
    [Fact]
    public async Task Invoke_AfterServerThreadsRetire_SandboxIsStillWarm()
    {
        // bubblewrap's --die-with-parent fires when the thread that started it exits; make the
        // server's pool threads retire after half a second of idleness so that would show at once.
        var environment = new Dictionary<string, string> { ["DOTNET_ThreadPool_ThreadTimeoutMs"] = "500" };
        await using var server = await ServerProcess.StartAsync(null, environment, "--idle-timeout", "300");
        using var http = new HttpClient { BaseAddress = new Uri(server.Endpoint + "/") };
        var name = Names.New("retire");
        await SharedServer.CreateFunctionAsync(http, name, "python3.12", "app.handler", Zip.Of(("app.py", "COUNT = 0\ndef handler(e, c):\n    global COUNT\n    COUNT += 1\n    return COUNT\n")));

        async Task<string> InvokeAsync()
        {
            using var response = await http.PostAsync($"2015-03-31/functions/{name}/invocations", new StringContent("{}"));
            return await response.Content.ReadAsStringAsync();
        }

        Assert.Equal("1", await InvokeAsync());
        // Idle long enough for idle pool threads to have exited several times over.
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal("2", await InvokeAsync());
    }
}
