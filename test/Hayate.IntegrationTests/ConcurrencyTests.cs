using System.Text.Json.Nodes;
using Hayate.IntegrationTests.Infrastructure;

namespace Hayate.IntegrationTests;

/// <summary>The account concurrency limit: over it, synchronous invokes are throttled at once with 429.</summary>
public sealed class ConcurrencyTests
{
    [Fact]
    public async Task Invoke_OverAccountLimit_ThrottlesExactlyTheExcessWith429()
    {
        await using var server = await ServerProcess.StartAsync(null, "--concurrency", "2");
        using var http = new HttpClient { BaseAddress = new Uri(server.Endpoint + "/") };
        var name = Names.New("limit");
        await SharedServer.CreateFunctionAsync(http, name, "python3.12", "app.handler", Zip.Of(("app.py", "import time\ndef handler(e, c):\n    time.sleep(1.5)\n    return 1\n")), timeout: 10);

        var settings = JsonNode.Parse(await http.GetStringAsync("2016-08-19/account-settings"))!;
        Assert.Equal(2, settings["AccountLimit"]!["ConcurrentExecutions"]!.GetValue<int>());

        var calls = await Task.WhenAll(Enumerable.Range(0, 5).Select(async _ =>
        {
            var started = DateTime.UtcNow;
            using var response = await http.PostAsync($"2015-03-31/functions/{name}/invocations", new StringContent("{}"));
            var body = await response.Content.ReadAsStringAsync();
            return (Status: (int)response.StatusCode, Body: body, Headers: response.Headers, Took: DateTime.UtcNow - started);
        }));

        var throttled = calls.Where(c => c.Status == 429).ToList();
        Assert.Equal(2, calls.Count(c => c.Status == 200));
        Assert.Equal(3, throttled.Count);
        foreach (var call in throttled)
        {
            Assert.Equal("TooManyRequestsException", call.Headers.GetValues("x-amzn-ErrorType").Single());
            Assert.Equal("1", call.Headers.GetValues("Retry-After").Single());
            var body = JsonNode.Parse(call.Body)!;
            Assert.Equal("ConcurrentInvocationLimitExceeded", body["Reason"]!.GetValue<string>());
            Assert.Equal("User", body["Type"]!.GetValue<string>());
            // Refused at once, not queued behind the running ones.
            Assert.True(call.Took < TimeSpan.FromSeconds(1.4), $"a throttle took {call.Took}");
        }
    }
}
