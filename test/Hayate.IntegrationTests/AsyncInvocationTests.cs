using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>Event invocations: durable before 202, retried by Lambda's rules, and never lost to a kill -9.</summary>
public sealed class AsyncInvocationTests(SharedServer shared)
{
    private static readonly byte[] Failing = Zip.Of(("app.py", "def handler(e, c):\n    print('attempt', c.aws_request_id)\n    raise Exception('boom')\n"));

    [Fact]
    public async Task FailingEvent_IsRetriedByTheConfig_WithOneRequestId_AndGrowingDelays()
    {
        // The shared server's first retry comes after 1 s (--async-retry-delay 1).
        var http = shared.Http;
        var defaults = Names.New("retry");
        var once = Names.New("noretry");
        foreach (var name in new[] { defaults, once })
        {
            await SharedServer.CreateFunctionAsync(http, name, "python3.12", "app.handler", Failing);
            var dlq = await CreateQueueAsync(http, name + "-dlq");
            using var configured = await http.PutAsync($"2015-03-31/functions/{name}/configuration",
                SharedServer.Json(new JsonObject { ["DeadLetterConfig"] = new JsonObject { ["TargetArn"] = $"arn:aws:sqs:us-east-1:000000000000:{name}-dlq" } }));
            Assert.Equal(HttpStatusCode.OK, configured.StatusCode);
            Assert.NotEmpty(dlq);
        }

        var put = await Clients.AwsAsync(shared.Endpoint, "lambda", "put-function-event-invoke-config", "--function-name", once, "--maximum-retry-attempts", "0");
        Assert.True(put.ExitCode == 0, put.Stderr);

        var first = await SendEventAsync(http, defaults, """{"n": 1}""");
        var second = await SendEventAsync(http, once, """{"n": 2}""");

        // Each event reaches its dead-letter queue only once it will not run again.
        Assert.Equal("""{"n": 1}""", await ReceiveAsync(http, defaults + "-dlq"));
        Assert.Equal("""{"n": 2}""", await ReceiveAsync(http, once + "-dlq"));

        // Default: 1 + 2 retries, about 1 s and then 2 s apart, all with the request id the 202 named.
        var starts = await WaitForStartsAsync(http, defaults, first, 3, TimeSpan.FromSeconds(10));
        Assert.Equal(3, starts.Count);
        Assert.True(starts[1] - starts[0] >= TimeSpan.FromMilliseconds(900), $"first retry after {starts[1] - starts[0]}");
        Assert.True(starts[2] - starts[1] >= TimeSpan.FromMilliseconds(1900), $"second retry after {starts[2] - starts[1]}");
        Assert.Single(await WaitForStartsAsync(http, once, second, 1, TimeSpan.FromSeconds(10)));
    }

    /// <summary>CreateQueue over the SQS JSON protocol; returns the queue URL.</summary>
    private static async Task<string> CreateQueueAsync(HttpClient http, string name)
    {
        var answer = await SqsAsync(http, "CreateQueue", new JsonObject { ["QueueName"] = name });
        return answer["QueueUrl"]!.GetValue<string>();
    }

    /// <summary>The body of the next message of the queue, waiting up to 20 s for one; fails the test if none comes.</summary>
    private static async Task<string> ReceiveAsync(HttpClient http, string queue)
    {
        var url = (await SqsAsync(http, "GetQueueUrl", new JsonObject { ["QueueName"] = queue }))["QueueUrl"]!.GetValue<string>();
        var messages = (await SqsAsync(http, "ReceiveMessage", new JsonObject { ["QueueUrl"] = url, ["WaitTimeSeconds"] = 20 }))["Messages"]?.AsArray();
        Assert.True(messages is { Count: > 0 }, $"nothing reached {queue} within 20 s");
        return messages[0]!["Body"]!.GetValue<string>();
    }

    private static async Task<JsonNode> SqsAsync(HttpClient http, string operation, JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "") { Content = SharedServer.Json(body) };
        request.Headers.Add("X-Amz-Target", "AmazonSQS." + operation);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.0");
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{operation}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }

    [Fact]
    public async Task EventInvokeConfig_PutUpdateGetListDelete_AndInvokeAsync_WithAwsCliAndBoto3()
    {
        var http = shared.Http;
        var name = Names.New("eic");
        await SharedServer.CreateFunctionAsync(http, name, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(e, c):\n    print('ran', e)\n    return 1\n")));
        var result = await Clients.Boto3Async(shared.Endpoint, $$"""
            name = '{{name}}'
            out = {}
            out['missing'] = err(lambda: lambda_client.get_function_event_invoke_config(FunctionName=name))
            out['update_missing'] = err(lambda: lambda_client.update_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1))
            put = lambda_client.put_function_event_invoke_config(FunctionName=name, MaximumRetryAttempts=1,
                DestinationConfig=dict(OnFailure=dict(Destination='arn:aws:lambda:us-east-1:000000000000:function:elsewhere')))
            out['put'] = [put['FunctionArn'], put['MaximumRetryAttempts'], put['DestinationConfig']['OnFailure']['Destination'], type(put['LastModified']).__name__]
            up = lambda_client.update_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=300)
            out['update'] = [up['MaximumRetryAttempts'], up['MaximumEventAgeInSeconds'], up['DestinationConfig']['OnFailure'].get('Destination')]
            # Put replaces everything: what it does not name goes back to the default.
            again = lambda_client.put_function_event_invoke_config(FunctionName=name, MaximumEventAgeInSeconds=60)
            out['put_again'] = [again.get('MaximumRetryAttempts'), again['MaximumEventAgeInSeconds'], again['DestinationConfig']['OnFailure'].get('Destination')]
            out['list'] = [c['FunctionArn'] for c in lambda_client.list_function_event_invoke_configs(FunctionName=name)['FunctionEventInvokeConfigs']]
            out['bad_qualifier'] = err(lambda: lambda_client.put_function_event_invoke_config(FunctionName=name, Qualifier='7', MaximumRetryAttempts=0))
            lambda_client.delete_function_event_invoke_config(FunctionName=name)
            out['deleted'] = err(lambda: lambda_client.get_function_event_invoke_config(FunctionName=name))
            dlq = 'arn:aws:sqs:us-east-1:000000000000:' + name + '-dlq'
            out['dlq_set'] = lambda_client.update_function_configuration(FunctionName=name, DeadLetterConfig=dict(TargetArn=dlq))['DeadLetterConfig']['TargetArn'] == dlq
            out['dlq_bad'] = err(lambda: lambda_client.update_function_configuration(FunctionName=name, DeadLetterConfig=dict(TargetArn='arn:aws:lambda:us-east-1:000000000000:function:x')))
            out['dlq_kept'] = lambda_client.get_function_configuration(FunctionName=name)['DeadLetterConfig']['TargetArn'] == dlq
            out['dlq_removed'] = 'DeadLetterConfig' not in lambda_client.update_function_configuration(FunctionName=name, DeadLetterConfig=dict(TargetArn=''))
            legacy = lambda_client.invoke_async(FunctionName=name, InvokeArgs=b'{"legacy": true}')
            out['invoke_async'] = [legacy['Status'], legacy['ResponseMetadata']['HTTPStatusCode']]
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        Assert.Equal("""["ResourceNotFoundException",404]""", json["missing"]!.ToJsonString());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["update_missing"]!.ToJsonString());
        Assert.Equal($$"""["arn:aws:lambda:us-east-1:000000000000:function:{{name}}:$LATEST",1,"arn:aws:lambda:us-east-1:000000000000:function:elsewhere","datetime"]""", json["put"]!.ToJsonString());
        Assert.Equal("""[1,300,"arn:aws:lambda:us-east-1:000000000000:function:elsewhere"]""", json["update"]!.ToJsonString());
        Assert.Equal("[null,60,null]", json["put_again"]!.ToJsonString());
        Assert.Single(json["list"]!.AsArray());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["bad_qualifier"]!.ToJsonString());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["deleted"]!.ToJsonString());
        Assert.Equal("[202,202]", json["invoke_async"]!.ToJsonString());
        Assert.True(json["dlq_set"]!.GetValue<bool>());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["dlq_bad"]!.ToJsonString());
        Assert.True(json["dlq_kept"]!.GetValue<bool>());
        Assert.True(json["dlq_removed"]!.GetValue<bool>());

        // Out-of-range values (the CLI would refuse them itself; the wire must too) change nothing.
        using var request = new HttpRequestMessage(HttpMethod.Put, $"2019-09-25/functions/{name}/event-invoke-config") { Content = SharedServer.Json(new JsonObject { ["MaximumRetryAttempts"] = 3 }) };
        using var refused = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        using var stillNone = await http.GetAsync($"2019-09-25/functions/{name}/event-invoke-config");
        Assert.Equal(HttpStatusCode.NotFound, stillNone.StatusCode);

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!JsonNode.Parse(await http.GetStringAsync($"_hayate/logs/{name}?after=0"))!["events"]!.AsArray()
                   .Any(e => e!["message"]!.GetValue<string>().Contains("'legacy': True", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the InvokeAsync event never ran");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Destinations_GetLambdasInvocationRecord_OnSuccessAndAfterTheLastRetry()
    {
        var http = shared.Http;
        var recorder = Names.New("dest");
        var failing = Names.New("destfail");
        var working = Names.New("destok");
        await SharedServer.CreateFunctionAsync(http, recorder, "python3.12", "app.handler",
            Zip.Of(("app.py", "import json\ndef handler(e, c):\n    print('RECORD ' + json.dumps(e))\n")));
        await SharedServer.CreateFunctionAsync(http, failing, "python3.12", "app.handler", Failing);
        await SharedServer.CreateFunctionAsync(http, working, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(e, c):\n    return {'doubled': e['n'] * 2}\n")));
        var target = $"arn:aws:lambda:us-east-1:000000000000:function:{recorder}";
        foreach (var (name, kind) in new[] { (failing, "OnFailure"), (working, "OnSuccess") })
        {
            var put = await Clients.AwsAsync(shared.Endpoint, "lambda", "put-function-event-invoke-config", "--function-name", name, "--maximum-retry-attempts", "1",
                "--destination-config", new JsonObject { [kind] = new JsonObject { ["Destination"] = target } }.ToJsonString());
            Assert.True(put.ExitCode == 0, put.Stderr);
        }

        var failed = await SendEventAsync(http, failing, """{"n": 1}""");
        var succeeded = await SendEventAsync(http, working, """{"n": 21}""");
        var records = new Dictionary<string, JsonNode>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (records.Count < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            foreach (var line in JsonNode.Parse(await http.GetStringAsync($"_hayate/logs/{recorder}?after=0"))!["events"]!.AsArray()
                         .Select(e => e!["message"]!.GetValue<string>()).Where(m => m.StartsWith("RECORD ", StringComparison.Ordinal)))
            {
                var record = JsonNode.Parse(line["RECORD ".Length..])!;
                records[record["requestContext"]!["requestId"]!.GetValue<string>()] = record;
            }
        }

        Assert.True(records.ContainsKey(failed), "no OnFailure record");
        var failure = records[failed];
        Assert.Equal("1.0", failure["version"]!.GetValue<string>());
        Assert.Equal("RetriesExhausted", failure["requestContext"]!["condition"]!.GetValue<string>());
        Assert.Equal(2, failure["requestContext"]!["approximateInvokeCount"]!.GetValue<int>());
        Assert.Equal($"arn:aws:lambda:us-east-1:000000000000:function:{failing}:$LATEST", failure["requestContext"]!["functionArn"]!.GetValue<string>());
        Assert.Equal(1, failure["requestPayload"]!["n"]!.GetValue<int>());
        Assert.Equal("Unhandled", failure["responseContext"]!["functionError"]!.GetValue<string>());
        Assert.Equal("boom", failure["responsePayload"]!["errorMessage"]!.GetValue<string>());

        Assert.True(records.ContainsKey(succeeded), "no OnSuccess record");
        var success = records[succeeded];
        Assert.Equal("Success", success["requestContext"]!["condition"]!.GetValue<string>());
        Assert.Equal(1, success["requestContext"]!["approximateInvokeCount"]!.GetValue<int>());
        Assert.Equal(200, success["responseContext"]!["statusCode"]!.GetValue<int>());
        Assert.Equal("$LATEST", success["responseContext"]!["executedVersion"]!.GetValue<string>());
        Assert.Equal(42, success["responsePayload"]!["doubled"]!.GetValue<int>());
    }

    [Fact]
    public async Task DeadLetterQueue_GetsTheEventWithItsError_AndAQueueDestinationGetsTheRecord_WithBoto3()
    {
        var failing = Names.New("dlqfail");
        var working = Names.New("dlqok");
        var failingZip = Convert.ToBase64String(Failing);
        var workingZip = Convert.ToBase64String(Zip.Of(("app.py", "def handler(e, c):\n    return {'ok': e['n']}\n")));
        var result = await Clients.Boto3Async(shared.Endpoint, $$"""
            import time
            sqs = boto3.client('sqs', endpoint_url='{{shared.Endpoint}}', region_name='us-east-1')
            def arn(url):
                return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
            dlq = sqs.create_queue(QueueName='{{failing}}-dlq')['QueueUrl']
            dest = sqs.create_queue(QueueName='{{working}}-dest')['QueueUrl']
            role = 'arn:aws:iam::000000000000:role/x'
            lambda_client.create_function(FunctionName='{{failing}}', Runtime='python3.12', Handler='app.handler', Role=role,
                Code={'ZipFile': base64.b64decode('{{failingZip}}')}, DeadLetterConfig=dict(TargetArn=arn(dlq)))
            lambda_client.put_function_event_invoke_config(FunctionName='{{failing}}', MaximumRetryAttempts=0)
            lambda_client.create_function(FunctionName='{{working}}', Runtime='python3.12', Handler='app.handler', Role=role,
                Code={'ZipFile': base64.b64decode('{{workingZip}}')})
            lambda_client.put_function_event_invoke_config(FunctionName='{{working}}', DestinationConfig=dict(OnSuccess=dict(Destination=arn(dest))))
            failed = lambda_client.invoke(FunctionName='{{failing}}', InvocationType='Event', Payload=b'{"n": 7}')['ResponseMetadata']['RequestId']
            succeeded = lambda_client.invoke(FunctionName='{{working}}', InvocationType='Event', Payload=b'{"n": 8}')['ResponseMetadata']['RequestId']
            dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=20, MessageAttributeNames=['All'])['Messages'][0]
            record = sqs.receive_message(QueueUrl=dest, WaitTimeSeconds=20)['Messages'][0]
            attributes = {k: v['StringValue'] for k, v in dead['MessageAttributes'].items()}
            body = json.loads(record['Body'])
            print(json.dumps({'dead_body': json.loads(dead['Body']), 'dead_attributes': attributes, 'failed': failed,
                              'record': [body['requestContext']['condition'], body['requestContext']['requestId'] == succeeded, body['responsePayload']]}))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        Assert.Equal(7, json["dead_body"]!["n"]!.GetValue<int>());
        Assert.Equal(json["failed"]!.GetValue<string>(), json["dead_attributes"]!["RequestID"]!.GetValue<string>());
        Assert.Equal("200", json["dead_attributes"]!["ErrorCode"]!.GetValue<string>());
        Assert.Equal("boom", json["dead_attributes"]!["ErrorMessage"]!.GetValue<string>());
        Assert.Equal("""["Success",true,{"ok":8}]""", json["record"]!.ToJsonString());
    }

    [Fact]
    public async Task KillMinus9_WithThousandsOfEventsQueuedAndRunning_LosesNone()
    {
        // Process isolation, so that the function can record its runs in a file of the host that
        // outlives the server: the server's own logs are not the witness of what ran.
        var data = Paths.NewTempDirectory("hayate-crash");
        var ran = Path.Combine(Paths.NewTempDirectory("hayate-crash-out"), "ran.txt");
        var name = Names.New("crash");
        var accepted = new ConcurrentDictionary<int, string>();
        const int total = 3000;
        await using (var server = await ServerProcess.StartAsync(data, "--isolation", "process", "--async-retry-delay", "1"))
        {
            using var http = new HttpClient { BaseAddress = new Uri(server.Endpoint + "/") };
            await SharedServer.CreateFunctionAsync(http, name, "python3.12", "app.handler", Zip.Of(("app.py", """
                import os, time
                def handler(event, context):
                    time.sleep(0.02)
                    with open(os.environ['RAN'], 'a') as f:
                        f.write('%d %s\n' % (event['n'], context.aws_request_id))
                    return 1
                """)), environment: new Dictionary<string, string> { ["RAN"] = ran });
            // Four at a time: events pile up in the journal faster than they run.
            var reserve = await Clients.AwsAsync(server.Endpoint, "lambda", "put-function-concurrency", "--function-name", name, "--reserved-concurrent-executions", "4");
            Assert.True(reserve.ExitCode == 0, reserve.Stderr);

            var next = -1;
            var killed = false;
            var senders = Enumerable.Range(0, 16).Select(async _ =>
            {
                int n;
                while ((n = Interlocked.Increment(ref next)) < total && !Volatile.Read(ref killed))
                {
                    try
                    {
                        var id = await SendEventAsync(http, name, $$"""{"n": {{n}}}""");
                        accepted[n] = id;
                    }
                    catch (HttpRequestException)
                    {
                        // Cut off by the kill: not accepted, so not promised.
                    }
                }
            }).ToList();

            // Kill while events are still arriving, queued and running.
            while (accepted.Count < total * 2 / 3)
            {
                await Task.Delay(10);
            }

            Volatile.Write(ref killed, true);
            await server.KillAsync();
            await Task.WhenAll(senders);
        }

        Assert.True(accepted.Count >= total * 2 / 3, $"only {accepted.Count} events were accepted before the kill");
        var ranBeforeRestart = File.Exists(ran) ? File.ReadAllLines(ran).Where(l => l.Length > 0).Select(l => l.Split(' ')[0]).Distinct().Count() : 0;
        // Else the kill found nothing pending, and the restart would prove nothing.
        Assert.True(ranBeforeRestart < accepted.Count, $"all {accepted.Count} accepted events had run before the kill");
        await using (var again = await ServerProcess.StartAsync(data, "--isolation", "process", "--async-retry-delay", "1"))
        {
            var deadline = DateTime.UtcNow.AddSeconds(120);
            HashSet<int> seen;
            while (true)
            {
                seen = File.Exists(ran) ? File.ReadAllLines(ran).Where(l => l.Length > 0).Select(l => int.Parse(l.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)).ToHashSet() : [];
                if (accepted.Keys.All(seen.Contains) || DateTime.UtcNow > deadline)
                {
                    break;
                }

                await Task.Delay(250);
            }

            var lost = accepted.Keys.Where(n => !seen.Contains(n)).Order().ToList();
            Assert.True(lost.Count == 0, $"{lost.Count} of {accepted.Count} accepted events never ran (ran before the restart: {ranBeforeRestart}), e.g. {string.Join(", ", lost.Take(10))}");

            // Each run kept its event's request id: the one its 202 named.
            var lines = File.ReadAllLines(ran).Where(l => l.Length > 0).Select(l => l.Split(' ')).ToList();
            Assert.All(lines.Where(l => accepted.ContainsKey(int.Parse(l[0], System.Globalization.CultureInfo.InvariantCulture))),
                l => Assert.Equal(accepted[int.Parse(l[0], System.Globalization.CultureInfo.InvariantCulture)], l[1]));
            var duplicates = lines.Count - lines.Select(l => l[0]).Distinct().Count();
            TestContext.Current.SendDiagnosticMessage($"kill -9: {accepted.Count} accepted, {ranBeforeRestart} ran before the restart, {duplicates} ran twice, 0 lost");
        }

        Directory.Delete(data, recursive: true);
        Directory.Delete(Path.GetDirectoryName(ran)!, recursive: true);
    }

    /// <summary>An Event invoke; returns the request id of the 202.</summary>
    private static async Task<string> SendEventAsync(HttpClient http, string name, string payload)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"2015-03-31/functions/{name}/invocations") { Content = new StringContent(payload) };
        request.Headers.Add("X-Amz-Invocation-Type", "Event");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return response.Headers.GetValues("x-amzn-RequestId").Single();
    }

    /// <summary>The times of the START lines of <paramref name="requestId"/>, once there are <paramref name="count"/> (or the wait is over).</summary>
    private static async Task<List<DateTimeOffset>> WaitForStartsAsync(HttpClient http, string name, string requestId, int count, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var events = JsonNode.Parse(await http.GetStringAsync($"_hayate/logs/{name}?after=0"))!["events"]!.AsArray();
            var starts = events.Where(e => e!["message"]!.GetValue<string>().StartsWith($"START RequestId: {requestId}", StringComparison.Ordinal))
                .Select(e => DateTimeOffset.FromUnixTimeMilliseconds(e!["timestamp"]!.GetValue<long>())).Order().ToList();
            if (starts.Count >= count || DateTime.UtcNow >= deadline)
            {
                return starts;
            }

            await Task.Delay(200);
        }
    }
}
