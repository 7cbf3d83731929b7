using System.Text;
using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>Functions survive the server: a clean stop (SIGTERM) and a crash (SIGKILL) both keep them.</summary>
public sealed class RestartTests
{
    private static async Task<JsonObject> CreateAsync(HttpClient http, string name, string handler, byte[] zip, IDictionary<string, string> environment)
    {
        var variables = new JsonObject();
        foreach (var (k, v) in environment)
        {
            variables[k] = v;
        }

        var body = new JsonObject
        {
            ["FunctionName"] = name,
            ["Runtime"] = "python3.12",
            ["Handler"] = handler,
            ["Role"] = "arn:aws:iam::000000000000:role/test",
            ["Environment"] = new JsonObject { ["Variables"] = variables },
            ["Code"] = new JsonObject { ["ZipFile"] = Convert.ToBase64String(zip) },
        };
        using var response = await http.PostAsync("2015-03-31/functions", SharedServer.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 201, $"CreateFunction {name} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    private static async Task<JsonNode> InvokeAsync(HttpClient http, string name, string payload)
    {
        using var response = await http.PostAsync($"2015-03-31/functions/{name}/invocations", new StringContent(payload, Encoding.UTF8));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 200, $"Invoke {name} answered {(int)response.StatusCode}: {text}");
        Assert.False(response.Headers.Contains("X-Amz-Function-Error"), $"Invoke {name} failed: {text}");
        return JsonNode.Parse(text)!;
    }

    private static async Task<Dictionary<string, JsonNode>> ListAsync(HttpClient http)
    {
        using var response = await http.GetAsync("2015-03-31/functions");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 200, text);
        return JsonNode.Parse(text)!["Functions"]!.AsArray().ToDictionary(f => f!["FunctionName"]!.GetValue<string>(), f => f!);
    }

    private static HttpClient ClientFor(ServerProcess server) => new() { BaseAddress = new Uri(server.Endpoint + "/"), Timeout = TimeSpan.FromMinutes(1) };

    /// <summary>Both functions are listed exactly as before and both still run their own code.</summary>
    private static async Task AssertIntactAsync(ServerProcess server, JsonObject alpha, JsonObject beta)
    {
        using var http = ClientFor(server);
        var listed = await ListAsync(http);
        Assert.Equal(2, listed.Count);
        foreach (var original in new[] { alpha, beta })
        {
            var name = original["FunctionName"]!.GetValue<string>();
            Assert.True(listed.ContainsKey(name), $"{name} is gone after the restart; listed: {string.Join(", ", listed.Keys)}");
            var now = listed[name];
            foreach (var field in new[] { "CodeSha256", "RevisionId", "Handler", "Runtime", "LastModified" })
            {
                Assert.Equal(original[field]!.GetValue<string>(), now[field]!.GetValue<string>());
            }

            Assert.Equal(original["CodeSize"]!.GetValue<long>(), now["CodeSize"]!.GetValue<long>());
            Assert.Equal(original["MemorySize"]!.GetValue<int>(), now["MemorySize"]!.GetValue<int>());
            Assert.Equal(original["Environment"]!.ToJsonString(), now["Environment"]!.ToJsonString());
        }

        var a = await InvokeAsync(http, "alpha", """{"n":41}""");
        Assert.Equal("alpha", a["fn"]!.GetValue<string>());
        Assert.Equal(42, a["n"]!.GetValue<int>());
        Assert.Equal("one", a["setting"]!.GetValue<string>());
        var b = await InvokeAsync(http, "beta", """{"n":1}""");
        Assert.Equal("beta", b["fn"]!.GetValue<string>());
        Assert.Equal("two", b["setting"]!.GetValue<string>());
        Assert.Equal("payload from the zip", b["data"]!.GetValue<string>());

        // The code is still downloadable from GetFunction's Code.Location.
        using var get = await http.GetAsync("2015-03-31/functions/beta");
        var location = JsonNode.Parse(await get.Content.ReadAsStringAsync())!["Code"]!["Location"]!.GetValue<string>();
        using var download = new HttpClient();
        var bytes = await download.GetByteArrayAsync(new Uri(location));
        Assert.Equal(beta["CodeSha256"]!.GetValue<string>(), Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(bytes)));
    }

    [Fact]
    public async Task Restart_AfterSigtermAndAfterSigkill_KeepsFunctionsAndTheyStillInvoke()
    {
        var data = Paths.NewTempDirectory("hayate-restart");
        var alphaZip = Zip.Of(("app.py", "import os\ndef handler(event, context):\n    return {'fn': 'alpha', 'n': event['n'] + 1, 'setting': os.environ['SETTING']}\n"));
        var betaZip = Zip.Of(
            ("main.py", "import os\ndef run(event, context):\n    return {'fn': 'beta', 'setting': os.environ['SETTING'], 'data': open('data/file.txt').read()}\n"),
            ("data/file.txt", "payload from the zip"));

        JsonObject alpha, beta;
        var first = await ServerProcess.StartAsync(data);
        try
        {
            using var http = ClientFor(first);
            alpha = await CreateAsync(http, "alpha", "app.handler", alphaZip, new Dictionary<string, string> { ["SETTING"] = "one" });
            beta = await CreateAsync(http, "beta", "main.run", betaZip, new Dictionary<string, string> { ["SETTING"] = "two" });
            // A warm sandbox is running when the server is told to stop.
            Assert.Equal(42, (await InvokeAsync(http, "alpha", """{"n":41}"""))["n"]!.GetValue<int>());

            var exitCode = await first.TerminateAsync(TimeSpan.FromSeconds(15));
            Assert.True(exitCode == 0, $"SIGTERM exit code {exitCode}:\n{first.StandardError}");
        }
        finally
        {
            await first.DisposeAsync();
        }

        var second = await ServerProcess.StartAsync(data);
        try
        {
            await AssertIntactAsync(second, alpha, beta);
            await second.KillAsync();
        }
        finally
        {
            await second.DisposeAsync();
        }

        await using var third = await ServerProcess.StartAsync(data);
        await AssertIntactAsync(third, alpha, beta);
    }

    [Fact]
    public async Task Restart_UpdateThenSigkill_KeepsTheLatestCodeAndConfiguration()
    {
        var data = Paths.NewTempDirectory("hayate-restart");
        JsonObject updated;
        var first = await ServerProcess.StartAsync(data);
        try
        {
            using var http = ClientFor(first);
            await CreateAsync(http, "gamma", "app.handler", Zip.Of(("app.py", "def handler(e, c):\n    return 'v1'\n")), new Dictionary<string, string>());
            using (var code = await http.PutAsync("2015-03-31/functions/gamma/code",
                SharedServer.Json(new JsonObject { ["ZipFile"] = Convert.ToBase64String(Zip.Of(("app.py", "def handler(e, c):\n    return 'v2'\n"))) })))
            {
                Assert.Equal(200, (int)code.StatusCode);
            }

            using var config = await http.PutAsync("2015-03-31/functions/gamma/configuration", SharedServer.Json(new JsonObject { ["Description"] = "second", ["MemorySize"] = 256 }));
            Assert.Equal(200, (int)config.StatusCode);
            updated = JsonNode.Parse(await config.Content.ReadAsStringAsync())!.AsObject();
            await first.KillAsync();
        }
        finally
        {
            await first.DisposeAsync();
        }

        await using var second = await ServerProcess.StartAsync(data);
        using var again = ClientFor(second);
        using var get = await again.GetAsync("2015-03-31/functions/gamma/configuration");
        var now = JsonNode.Parse(await get.Content.ReadAsStringAsync())!;
        Assert.Equal(updated["RevisionId"]!.GetValue<string>(), now["RevisionId"]!.GetValue<string>());
        Assert.Equal(updated["CodeSha256"]!.GetValue<string>(), now["CodeSha256"]!.GetValue<string>());
        Assert.Equal("second", now["Description"]!.GetValue<string>());
        Assert.Equal(256, now["MemorySize"]!.GetValue<int>());
        using var invoke = await again.PostAsync("2015-03-31/functions/gamma/invocations", new StringContent("{}", Encoding.UTF8));
        Assert.Equal("\"v2\"", await invoke.Content.ReadAsStringAsync());
    }
}
