using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>
/// The account limit, reserved concurrency and provisioned concurrency: over a limit, synchronous
/// invokes are throttled at once with 429; asynchronous events wait and run later.
/// </summary>
public sealed class ConcurrencyTests(SharedServer shared)
{
    private static readonly byte[] Sleeper = Zip.Of(("app.py", "import time, os\ndef handler(e, c):\n    time.sleep(e.get('sleep', 0))\n    return os.environ['AWS_LAMBDA_INITIALIZATION_TYPE']\n"));

    [Fact]
    public async Task ReservedConcurrency_NPlusKParallelCalls_GiveExactlyKThrottles_AndZeroStopsEverything()
    {
        await using var server = await ServerProcess.StartAsync(null, "--concurrency", "150");
        using var http = new HttpClient { BaseAddress = new Uri(server.Endpoint + "/") };
        var name = Names.New("reserved");
        await SharedServer.CreateFunctionAsync(http, name, "python3.12", "app.handler", Sleeper, timeout: 10);

        var put = await Clients.AwsAsync(server.Endpoint, "lambda", "put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", "3");
        Assert.True(put.ExitCode == 0, put.Stderr);
        Assert.Equal(3, put.Json["ReservedConcurrentExecutions"]!.GetValue<int>());
        var settings = JsonNode.Parse(await http.GetStringAsync("2016-08-19/account-settings"))!;
        Assert.Equal(147, settings["AccountLimit"]!["UnreservedConcurrentExecutions"]!.GetValue<int>());
        Assert.Equal(150, settings["AccountLimit"]!["ConcurrentExecutions"]!.GetValue<int>());

        var statuses = await Task.WhenAll(Enumerable.Range(0, 3 + 4).Select(async _ =>
        {
            using var response = await http.PostAsync($"2015-03-31/functions/{name}/invocations", new StringContent("""{"sleep": 1.5}"""));
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync());
            return (Status: (int)response.StatusCode, Reason: (int)response.StatusCode == 429 ? body!["Reason"]!.GetValue<string>() : null);
        }));
        Assert.Equal(3, statuses.Count(s => s.Status == 200));
        Assert.Equal(4, statuses.Count(s => s.Status == 429));
        Assert.All(statuses.Where(s => s.Status == 429), s => Assert.Equal("ReservedFunctionConcurrentInvocationLimitExceeded", s.Reason));

        // Leaving fewer than 100 unreserved is refused, and changes nothing.
        var greedy = await Clients.AwsAsync(server.Endpoint, "lambda", "put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", "51");
        Assert.Contains("(InvalidParameterValueException)", greedy.Stderr, StringComparison.Ordinal);
        var get = await Clients.AwsAsync(server.Endpoint, "lambda", "get-function-concurrency", "--function-name", name);
        Assert.Equal(3, get.Json["ReservedConcurrentExecutions"]!.GetValue<int>());
        var function = await Clients.AwsAsync(server.Endpoint, "lambda", "get-function", "--function-name", name);
        Assert.Equal(3, function.Json["Concurrency"]!["ReservedConcurrentExecutions"]!.GetValue<int>());

        // Zero throttles every call; an Event is accepted and kept until the reservation allows it.
        Assert.Equal(0, (await Clients.AwsAsync(server.Endpoint, "lambda", "put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", "0")).ExitCode);
        using (var zero = await http.PostAsync($"2015-03-31/functions/{name}/invocations", new StringContent("{}")))
        {
            Assert.Equal(429, (int)zero.StatusCode);
        }

        using var evt = new HttpRequestMessage(HttpMethod.Post, $"2015-03-31/functions/{name}/invocations") { Content = new StringContent("""{"marker": "kept"}""") };
        evt.Headers.Add("X-Amz-Invocation-Type", "Event");
        using (var accepted = await http.SendAsync(evt))
        {
            Assert.Equal(202, (int)accepted.StatusCode);
        }

        await Task.Delay(1000);
        Assert.Equal(3, await StartsAsync(http, name));

        var deleted = await Clients.AwsAsync(server.Endpoint, "lambda", "delete-function-concurrency", "--function-name", name);
        Assert.True(deleted.ExitCode == 0, deleted.Stderr);
        var cleared = await Clients.AwsAsync(server.Endpoint, "lambda", "get-function-concurrency", "--function-name", name);
        Assert.True(cleared.ExitCode == 0, cleared.Stderr);
        Assert.DoesNotContain("ReservedConcurrentExecutions", cleared.Stdout, StringComparison.Ordinal);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var ran = false;
        while (!ran && DateTime.UtcNow < deadline)
        {
            ran = await StartsAsync(http, name) == 4;
            await Task.Delay(200);
        }

        Assert.True(ran, "the throttled event never ran after the reservation was removed");
    }

    private static async Task<int> StartsAsync(HttpClient http, string name)
    {
        var events = JsonNode.Parse(await http.GetStringAsync($"_hayate/logs/{name}?after=0"))!["events"]!.AsArray();
        return events.Count(e => e!["message"]!.GetValue<string>().StartsWith("START RequestId", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ProvisionedConcurrency_BecomesReady_AndServesWithoutInitDuration_WithBoto3()
    {
        var name = Names.New("prov");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Sleeper);
        var result = await Clients.Boto3Async(shared.Endpoint, $$"""
            import time
            name = '{{name}}'
            version = lambda_client.publish_version(FunctionName=name)['Version']
            lambda_client.create_alias(FunctionName=name, Name='prod', FunctionVersion=version)
            out = {}
            out['latest'] = err(lambda: lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier='$LATEST', ProvisionedConcurrentExecutions=2))
            out['none_yet'] = err(lambda: lambda_client.get_provisioned_concurrency_config(FunctionName=name, Qualifier='prod'))
            put = lambda_client.put_provisioned_concurrency_config(FunctionName=name, Qualifier='prod', ProvisionedConcurrentExecutions=2)
            out['put'] = [put['ResponseMetadata']['HTTPStatusCode'], put['Status'], put['RequestedProvisionedConcurrentExecutions']]
            deadline = time.time() + 30
            while True:
                got = lambda_client.get_provisioned_concurrency_config(FunctionName=name, Qualifier='prod')
                if got['Status'] != 'IN_PROGRESS' or time.time() > deadline:
                    break
                time.sleep(0.1)
            out['ready'] = [got['Status'], got['AvailableProvisionedConcurrentExecutions'], got['AllocatedProvisionedConcurrentExecutions']]
            out['listed'] = [c['FunctionArn'].split(':')[-1] for c in lambda_client.list_provisioned_concurrency_configs(FunctionName=name)['ProvisionedConcurrencyConfigs']]
            runs = []
            for i in range(2):
                r = lambda_client.invoke(FunctionName=name, Qualifier='prod', LogType='Tail')
                log = base64.b64decode(r['LogResult']).decode()
                runs.append([json.loads(r['Payload'].read()), 'Init Duration' in log, 'REPORT' in log])
            out['runs'] = runs
            lambda_client.delete_provisioned_concurrency_config(FunctionName=name, Qualifier='prod')
            out['after_delete'] = err(lambda: lambda_client.get_provisioned_concurrency_config(FunctionName=name, Qualifier='prod'))
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        Assert.Equal("""["InvalidParameterValueException",400]""", json["latest"]!.ToJsonString());
        Assert.Equal("""["ProvisionedConcurrencyConfigNotFoundException",404]""", json["none_yet"]!.ToJsonString());
        Assert.Equal("""[202,"IN_PROGRESS",2]""", json["put"]!.ToJsonString());
        Assert.Equal("""["READY",2,2]""", json["ready"]!.ToJsonString());
        Assert.Equal("""["prod"]""", json["listed"]!.ToJsonString());
        // Served by the pre-initialised sandboxes: no Init Duration, and the runtime was told why it started.
        Assert.Equal("""[["provisioned-concurrency",false,true],["provisioned-concurrency",false,true]]""", json["runs"]!.ToJsonString());
        Assert.Equal("""["ProvisionedConcurrencyConfigNotFoundException",404]""", json["after_delete"]!.ToJsonString());
    }

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
