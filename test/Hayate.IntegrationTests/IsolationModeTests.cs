using System.Diagnostics;
using System.Text.Json.Nodes;
using Hayate.IntegrationTests.Infrastructure;

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
}
