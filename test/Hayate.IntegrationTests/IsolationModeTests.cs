using System.Diagnostics;
using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>Without bubblewrap the server still runs functions, and says loudly what is not enforced.</summary>
public sealed class IsolationModeTests
{
    [Fact]
    public async Task Serve_ProcessIsolation_WarnsAndStillRunsFunctions()
    {
        await using var server = await ServerProcess.StartAsync(null, "--isolation", "process");
        Assert.Contains("WARNING", server.StandardError, StringComparison.Ordinal);
        Assert.Contains("NO isolation", server.StandardError, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = new Uri(server.Endpoint + "/") };
        var name = Names.New("plain");
        var zip = Zip.Of(("app.py", "import os\nCOUNT = 0\ndef handler(e, c):\n    global COUNT\n    COUNT += 1\n    return {'count': COUNT, 'api': os.environ['AWS_LAMBDA_RUNTIME_API'], 'root': os.environ['LAMBDA_TASK_ROOT']}\n"));
        await SharedServer.CreateFunctionAsync(http, name, "python3.12", "app.handler", zip);
        for (var expected = 1; expected <= 2; expected++)
        {
            using var response = await http.PostAsync($"2015-03-31/functions/{name}/invocations", new StringContent("{}"));
            var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(expected, json["count"]!.GetValue<int>());
            // Plain processes share the host network: each sandbox gets its own loopback port.
            Assert.Matches(@"^127\.0\.0\.1:\d+$", json["api"]!.GetValue<string>());
            Assert.NotEqual("127.0.0.1:9001", json["api"]!.GetValue<string>());
            Assert.StartsWith(server.DataDirectory, json["root"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Logs_Follow_PrintsNewInvocationsAsTheyHappen()
    {
        await using var server = await ServerProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(server.Endpoint + "/") };
        var name = Names.New("follow");
        var zip = Zip.Of(("app.py", "def handler(e, c):\n    print('marker', e['m'])\n    return 1\n"));
        await SharedServer.CreateFunctionAsync(http, name, "python3.12", "app.handler", zip);

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { Paths.HayateDll, "logs", name, "--follow", "--endpoint", server.Endpoint })
        {
            start.ArgumentList.Add(arg);
        }

        using var follower = Process.Start(start)!;
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var lines = new List<string>();
        follower.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (lines)
            {
                lines.Add(e.Data);
            }

            if (e.Data.Contains("marker second", StringComparison.Ordinal))
            {
                seen.TrySetResult();
            }
        };
        follower.BeginOutputReadLine();
        try
        {
            using (await http.PostAsync($"2015-03-31/functions/{name}/invocations", new StringContent("""{"m":"first"}""")))
            {
            }

            using (await http.PostAsync($"2015-03-31/functions/{name}/invocations", new StringContent("""{"m":"second"}""")))
            {
            }

            await seen.Task.WaitAsync(TimeSpan.FromSeconds(30));
            lock (lines)
            {
                Assert.Contains(lines, l => l.Contains("marker first", StringComparison.Ordinal));
                Assert.Contains(lines, l => l.StartsWith("REPORT RequestId: ", StringComparison.Ordinal));
            }

            Assert.False(follower.HasExited, "--follow keeps running");
        }
        finally
        {
            follower.Kill();
        }
    }
    [Fact]
    public async Task Serve_AsUnprivilegedUser_SaysWhatIsOffAndStillRunsFunctions()
    {
        Assert.SkipUnless(SharedServer.Root && File.Exists("/usr/bin/setpriv"), "needs root to switch to an unprivileged user (CI runs as root)");
        Assert.SkipUnless(ReadableByEveryone(Paths.HayateDll), "the build output must be readable by other users to run the server as one");
        var data = Paths.NewTempDirectory("hayate-nobody");
        File.SetUnixFileMode(data, (UnixFileMode)0x1FF);
        var environment = new Dictionary<string, string> { ["HOME"] = data, ["DOTNET_CLI_HOME"] = data };
        await using var server = await ServerProcess.StartAsync(Path.Combine(data, "data"), environment, uid: 65534);
        Assert.Contains("not running as root", server.StandardError, StringComparison.Ordinal);
        Assert.Contains("cgroups are off", server.StandardError, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = new Uri(server.Endpoint + "/") };
        var name = Names.New("nobody");
        await SharedServer.CreateFunctionAsync(http, name, "python3.12", "app.handler", Zip.Of(("app.py", "import os\ndef handler(e, c):\n    return {'uid': os.getuid(), 'api': os.environ['AWS_LAMBDA_RUNTIME_API']}\n")));
        using var response = await http.PostAsync($"2015-03-31/functions/{name}/invocations", new StringContent("{}"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 200 && !response.Headers.Contains("X-Amz-Function-Error"), body + "\n" + server.StandardError);
        // Without root there is no network namespace of its own: a loopback port per sandbox.
        Assert.NotEqual("127.0.0.1:9001", JsonNode.Parse(body)!["api"]!.GetValue<string>());
    }

    private static bool ReadableByEveryone(string path)
    {
        for (var dir = Path.GetDirectoryName(path); !string.IsNullOrEmpty(dir) && dir != "/"; dir = Path.GetDirectoryName(dir))
        {
            if ((File.GetUnixFileMode(dir) & UnixFileMode.OtherExecute) == 0)
            {
                return false;
            }
        }

        return (File.GetUnixFileMode(path) & UnixFileMode.OtherRead) != 0;
    }
}
