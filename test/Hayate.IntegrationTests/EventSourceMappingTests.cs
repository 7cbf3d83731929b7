using System.Net;
using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>Event source mappings over the built-in SQS service: the control plane with boto3 and the AWS CLI, and the poller's behaviour as a function sees it.</summary>
public sealed class EventSourceMappingTests(SharedServer shared)
{
    private const string Clients3 = """
        import time
        sqs = boto3.client('sqs', endpoint_url=lambda_client.meta.endpoint_url, region_name='us-east-1', config=Config(retries={'max_attempts': 0}))
        def wait_state(uuid, want, seconds=10):
            end = time.time() + seconds
            while True:
                state = lambda_client.get_event_source_mapping(UUID=uuid)['State']
                if state == want or time.time() > end:
                    return state
                time.sleep(0.05)
        def queue(name, **attributes):
            url = sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})['QueueUrl']
            return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
        def counts(url):
            a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['All'])['Attributes']
            return [int(a['ApproximateNumberOfMessages']), int(a['ApproximateNumberOfMessagesNotVisible'])]
        """;

    /// <summary>Prints each batch it gets as one line, "BATCH [bodies]", and the whole event of the first.</summary>
    private static readonly byte[] Recorder = Zip.Of(("app.py", """
        import json
        def handler(event, context):
            print('BATCH ' + json.dumps([r['body'] for r in event['Records']]))
            print('EVENT ' + json.dumps(event['Records'][0]))
        """));

    [Fact]
    public async Task SqsMapping_CreateGetUpdateListDelete_WithStatesAndErrors()
    {
        var fn = Names.New("esmcrud");
        await shared.CreateFunctionAsync(fn, "python3.12", "app.handler", Recorder);
        var result = await Clients.Boto3Async(shared.Endpoint, Clients3 + "\n" + $$"""
            fn = '{{fn}}'
            url, arn = queue(fn)
            out = {}
            created = lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn)
            uuid = created['UUID']
            out['created'] = [created['ResponseMetadata']['HTTPStatusCode'], created['State'], created['BatchSize'], created['MaximumBatchingWindowInSeconds'],
                created['FunctionArn'], created['EventSourceArn'] == arn, created['EventSourceMappingArn'].endswith(':event-source-mapping:' + uuid),
                'StartingPosition' in created, type(created['LastModified']).__name__, created['StateTransitionReason']]
            out['enabled'] = wait_state(uuid, 'Enabled')
            out['duplicate'] = err(lambda: lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn))
            out['no_queue'] = err(lambda: lambda_client.create_event_source_mapping(EventSourceArn=arn + '-missing', FunctionName=fn))
            out['no_function'] = err(lambda: lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn + '-missing'))
            out['unknown_source'] = err(lambda: lambda_client.create_event_source_mapping(EventSourceArn='arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/x', FunctionName=fn))
            out['starting_position'] = err(lambda: lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn + ':$LATEST', StartingPosition='LATEST'))
            out['big_batch_no_window'] = err(lambda: lambda_client.update_event_source_mapping(UUID=uuid, BatchSize=20))
            out['retries_on_sqs'] = err(lambda: lambda_client.update_event_source_mapping(UUID=uuid, MaximumRetryAttempts=3))
            out['filters'] = err(lambda: lambda_client.update_event_source_mapping(UUID=uuid, FilterCriteria={'Filters': [{'Pattern': '{}'}]}))
            out['unchanged'] = lambda_client.get_event_source_mapping(UUID=uuid)['BatchSize']
            updated = lambda_client.update_event_source_mapping(UUID=uuid, BatchSize=100, MaximumBatchingWindowInSeconds=2, Enabled=False,
                FunctionResponseTypes=['ReportBatchItemFailures'], ScalingConfig={'MaximumConcurrency': 3})
            out['updated'] = [updated['ResponseMetadata']['HTTPStatusCode'], updated['State'], updated['BatchSize'], updated['MaximumBatchingWindowInSeconds'],
                updated['FunctionResponseTypes'], updated['ScalingConfig']]
            out['disabled'] = wait_state(uuid, 'Disabled')
            out['enabling'] = lambda_client.update_event_source_mapping(UUID=uuid, Enabled=True)['State']
            out['reenabled'] = wait_state(uuid, 'Enabled')
            listed = lambda_client.list_event_source_mappings(FunctionName=fn)['EventSourceMappings']
            out['list_function'] = [m['UUID'] == uuid for m in listed]
            out['list_arn'] = [m['UUID'] == uuid for m in lambda_client.list_event_source_mappings(EventSourceArn=arn)['EventSourceMappings']]
            out['list_other'] = lambda_client.list_event_source_mappings(EventSourceArn=arn + '-other')['EventSourceMappings']
            deleted = lambda_client.delete_event_source_mapping(UUID=uuid)
            out['deleted'] = [deleted['ResponseMetadata']['HTTPStatusCode'], deleted['State']]
            end = time.time() + 10
            while time.time() < end and err(lambda: lambda_client.get_event_source_mapping(UUID=uuid)) is None:
                time.sleep(0.05)
            out['gone'] = err(lambda: lambda_client.get_event_source_mapping(UUID=uuid))
            out['update_gone'] = err(lambda: lambda_client.update_event_source_mapping(UUID=uuid, BatchSize=1))
            out['delete_gone'] = err(lambda: lambda_client.delete_event_source_mapping(UUID=uuid))
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        Assert.Equal($$"""[202,"Creating",10,0,"arn:aws:lambda:us-east-1:000000000000:function:{{fn}}",true,true,false,"datetime","USER_INITIATED"]""", json["created"]!.ToJsonString());
        Assert.Equal("Enabled", json["enabled"]!.GetValue<string>());
        Assert.Equal("""["ResourceConflictException",409]""", json["duplicate"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["no_queue"]!.ToJsonString());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["no_function"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["unknown_source"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["starting_position"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["big_batch_no_window"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["retries_on_sqs"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["filters"]!.ToJsonString());
        Assert.Equal(10, json["unchanged"]!.GetValue<int>());
        Assert.Equal("""[202,"Disabling",100,2,["ReportBatchItemFailures"],{"MaximumConcurrency":3}]""", json["updated"]!.ToJsonString());
        Assert.Equal("Disabled", json["disabled"]!.GetValue<string>());
        Assert.Equal("Enabling", json["enabling"]!.GetValue<string>());
        Assert.Equal("Enabled", json["reenabled"]!.GetValue<string>());
        Assert.Equal("[true]", json["list_function"]!.ToJsonString());
        Assert.Equal("[true]", json["list_arn"]!.ToJsonString());
        Assert.Equal("[]", json["list_other"]!.ToJsonString());
        Assert.Equal("""[202,"Deleting"]""", json["deleted"]!.ToJsonString());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["gone"]!.ToJsonString());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["update_gone"]!.ToJsonString());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["delete_gone"]!.ToJsonString());

        // The AWS CLI, and bad bodies on the wire: a clear error, nothing created.
        var queueArn = $"arn:aws:sqs:us-east-1:000000000000:{fn}";
        var cli = await Clients.AwsAsync(shared.Endpoint, "lambda", "create-event-source-mapping", "--function-name", fn, "--event-source-arn", queueArn, "--batch-size", "5");
        Assert.True(cli.ExitCode == 0, cli.Stderr);
        Assert.Equal(5, cli.Json["BatchSize"]!.GetValue<int>());
        var listed = await Clients.AwsAsync(shared.Endpoint, "lambda", "list-event-source-mappings", "--function-name", fn);
        Assert.Single(listed.Json["EventSourceMappings"]!.AsArray());
        foreach (var body in new[]
        {
            "{not json", """{"FunctionName": 5}""", $$"""{"FunctionName": "{{fn}}", "EventSourceArn": "{{queueArn}}", "BatchSize": 0}""",
            $$"""{"FunctionName": "{{fn}}", "EventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:stream/s", "StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 1e20}""",
        })
        {
            using var response = await shared.Http.PostAsync("2015-03-31/event-source-mappings", new StringContent(body));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.True(response.Headers.Contains("x-amzn-ErrorType"));
        }

        var after = await Clients.AwsAsync(shared.Endpoint, "lambda", "list-event-source-mappings", "--function-name", fn);
        Assert.Single(after.Json["EventSourceMappings"]!.AsArray());
    }

    [Fact]
    public async Task SqsMapping_DeliversLambdasEventShape_DeletesOnSuccess_AndFailedMessagesReappearUntilTheDeadLetterQueue()
    {
        var ok = Names.New("esmok");
        var failing = Names.New("esmfail");
        await shared.CreateFunctionAsync(ok, "python3.12", "app.handler", Recorder);
        await shared.CreateFunctionAsync(failing, "python3.12", "app.handler", Zip.Of(("app.py", """
            import json
            def handler(event, context):
                print('BATCH ' + json.dumps([r['body'] for r in event['Records']]))
                raise Exception('cannot')
            """)), timeout: 1);
        var result = await Clients.Boto3Async(shared.Endpoint, Clients3 + "\n" + $$"""
            out = {}
            url, arn = queue('{{ok}}')
            dlq_url, dlq_arn = queue('{{failing}}-dlq')
            bad_url, bad_arn = queue('{{failing}}', VisibilityTimeout=1, RedrivePolicy=json.dumps({'deadLetterTargetArn': dlq_arn, 'maxReceiveCount': 2}))
            lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName='{{ok}}', BatchSize=10, MaximumBatchingWindowInSeconds=1)
            lambda_client.create_event_source_mapping(EventSourceArn=bad_arn, FunctionName='{{failing}}')
            for i in range(5):
                sqs.send_message(QueueUrl=url, MessageBody=f'm{i}', MessageAttributes=dict(kind=dict(DataType='String', StringValue='test')))
            sqs.send_message(QueueUrl=bad_url, MessageBody='poison')
            end = time.time() + 30
            while time.time() < end and (counts(url) != [0, 0] or counts(dlq_url)[0] != 1):
                time.sleep(0.2)
            out['ok_counts'] = counts(url)
            out['bad_counts'] = counts(bad_url)
            dead = sqs.receive_message(QueueUrl=dlq_url, MessageSystemAttributeNames=['All']).get('Messages', [])
            out['dead'] = [m['Body'] for m in dead]
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        Assert.Equal("[0,0]", json["ok_counts"]!.ToJsonString());
        Assert.Equal("[0,0]", json["bad_counts"]!.ToJsonString());
        Assert.Equal("""["poison"]""", json["dead"]!.ToJsonString());

        // Each message reached the function exactly once, in Lambda's record shape.
        var lines = await LogLinesAsync(shared.Http, ok);
        var bodies = lines.Where(l => l.StartsWith("BATCH ", StringComparison.Ordinal)).SelectMany(l => JsonNode.Parse(l[6..])!.AsArray().Select(b => b!.GetValue<string>())).Order().ToList();
        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], bodies);
        var record = JsonNode.Parse(lines.First(l => l.StartsWith("EVENT ", StringComparison.Ordinal))[6..])!;
        Assert.Equal("aws:sqs", record["eventSource"]!.GetValue<string>());
        Assert.Equal($"arn:aws:sqs:us-east-1:000000000000:{ok}", record["eventSourceARN"]!.GetValue<string>());
        Assert.Equal("us-east-1", record["awsRegion"]!.GetValue<string>());
        Assert.Equal("1", record["attributes"]!["ApproximateReceiveCount"]!.GetValue<string>());
        Assert.NotNull(record["attributes"]!["SentTimestamp"]);
        Assert.NotNull(record["receiptHandle"]);
        Assert.Equal(32, record["md5OfBody"]!.GetValue<string>().Length);
        Assert.Equal("""{"stringValue":"test","stringListValues":[],"binaryListValues":[],"dataType":"String"}""", record["messageAttributes"]!["kind"]!.ToJsonString());

        // The failing function saw the message twice (maxReceiveCount), a visibility timeout apart.
        var attempts = (await LogLinesAsync(shared.Http, failing)).Count(l => l == """BATCH ["poison"]""");
        Assert.Equal(2, attempts);
    }

    [Fact]
    public async Task SqsMapping_ABatchLargerThanOneInvokeCarries_IsSplit_AndEveryMessageArrivesOnce()
    {
        var fn = Names.New("esmbig");
        await shared.CreateFunctionAsync(fn, "python3.12", "app.handler", Zip.Of(("app.py", """
            import json
            def handler(event, context):
                print('BATCH ' + json.dumps([r['body'][:3] for r in event['Records']]))
            """)));
        var result = await Clients.Boto3Async(shared.Endpoint, Clients3 + "\n" + $$"""
            url, arn = queue('{{fn}}')
            # Ten messages of 700,000 bytes (some characters outside ASCII): 7 MB, past the 6 MB one invoke carries.
            for i in range(10):
                sqs.send_message(QueueUrl=url, MessageBody=f'{i:03d}' + 'é' * 100_000 + 'x' * 499_997)
            lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName='{{fn}}', BatchSize=10)
            end = time.time() + 30
            while time.time() < end and counts(url) != [0, 0]:
                time.sleep(0.2)
            print(json.dumps({'left': counts(url)}))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("[0,0]", result.Json["left"]!.ToJsonString());
        var batches = (await LogLinesAsync(shared.Http, fn)).Where(l => l.StartsWith("BATCH ", StringComparison.Ordinal))
            .Select(l => JsonNode.Parse(l[6..])!.AsArray().Select(b => b!.GetValue<string>()).ToList()).ToList();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"{i:D3}"), batches.SelectMany(b => b).Order(StringComparer.Ordinal));
        Assert.True(batches.Count >= 2, $"one invoke cannot carry 7 MB; batches: {batches.Count}");
    }

    [Fact]
    public async Task SqsMapping_ReportBatchItemFailures_DeletesOnlyTheMessagesThatSucceeded()
    {
        var fn = Names.New("esmpartial");
        await shared.CreateFunctionAsync(fn + "-slow", "python3.12", "app.handler", Recorder);
        await shared.CreateFunctionAsync(fn, "python3.12", "app.handler", Zip.Of(("app.py", """
            import json
            def handler(event, context):
                print('BATCH ' + json.dumps([r['body'] for r in event['Records']]))
                return {'batchItemFailures': [{'itemIdentifier': r['messageId']} for r in event['Records'] if r['body'].startswith('bad')]}
            """)), timeout: 1);
        var result = await Clients.Boto3Async(shared.Endpoint, Clients3 + "\n" + $$"""
            out = {}
            dlq_url, dlq_arn = queue('{{fn}}-dlq')
            url, arn = queue('{{fn}}', VisibilityTimeout=1, RedrivePolicy=json.dumps({'deadLetterTargetArn': dlq_arn, 'maxReceiveCount': 2}))
            sqs.send_message_batch(QueueUrl=url, Entries=[{'Id': b, 'MessageBody': b} for b in ['good1', 'bad1', 'good2', 'bad2', 'good3']])
            out['visibility'] = err(lambda: lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName='{{fn}}-slow'))
            lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName='{{fn}}', BatchSize=10, FunctionResponseTypes=['ReportBatchItemFailures'])
            end = time.time() + 30
            while time.time() < end and (counts(url) != [0, 0] or counts(dlq_url)[0] != 2):
                time.sleep(0.2)
            out['dead'] = sorted(m['Body'] for m in sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get('Messages', []))
            out['left'] = counts(url)
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("""["InvalidParameterValueException",400]""", result.Json["visibility"]!.ToJsonString());
        Assert.Equal("""["bad1","bad2"]""", result.Json["dead"]!.ToJsonString());
        Assert.Equal("[0,0]", result.Json["left"]!.ToJsonString());
        var seen = (await LogLinesAsync(shared.Http, fn)).Where(l => l.StartsWith("BATCH ", StringComparison.Ordinal))
            .SelectMany(l => JsonNode.Parse(l[6..])!.AsArray().Select(b => b!.GetValue<string>())).ToList();
        foreach (var good in new[] { "good1", "good2", "good3" })
        {
            Assert.Equal(1, seen.Count(s => s == good));
        }

        Assert.Equal(2, seen.Count(s => s == "bad1"));
        Assert.Equal(2, seen.Count(s => s == "bad2"));
    }

    [Fact]
    public async Task SqsMapping_ScalesPollersWithTheBacklog_BoundedByMaximumConcurrency_AndGathersBatchesOverTheWindow()
    {
        var bounded = Names.New("esmmax");
        var unbounded = Names.New("esmfree");
        var batched = Names.New("esmwin");
        var sleeper = Zip.Of(("app.py", """
            import json, time
            def handler(event, context):
                start = time.time()
                time.sleep(1)
                print('SPAN %f %f' % (start, time.time()))
            """));
        await shared.CreateFunctionAsync(bounded, "python3.12", "app.handler", sleeper, timeout: 10);
        await shared.CreateFunctionAsync(unbounded, "python3.12", "app.handler", sleeper, timeout: 10);
        await shared.CreateFunctionAsync(batched, "python3.12", "app.handler", Recorder);
        var result = await Clients.Boto3Async(shared.Endpoint, Clients3 + "\n" + $$"""
            urls = []
            for fn, scaling in [('{{bounded}}', {'MaximumConcurrency': 2}), ('{{unbounded}}', None)]:
                url, arn = queue(fn)
                for chunk in range(2):
                    sqs.send_message_batch(QueueUrl=url, Entries=[{'Id': str(i), 'MessageBody': str(i)} for i in range(10)])
                extra = {'ScalingConfig': scaling} if scaling else {}
                lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, BatchSize=1, **extra)
                urls.append(url)
            url, arn = queue('{{batched}}')
            lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName='{{batched}}', BatchSize=100, MaximumBatchingWindowInSeconds=3)
            time.sleep(0.5)
            for chunk in range(4):
                sqs.send_message_batch(QueueUrl=url, Entries=[{'Id': str(i), 'MessageBody': f'{chunk}-{i}'} for i in range(10)])
            urls.append(url)
            end = time.time() + 60
            while time.time() < end and any(counts(u) != [0, 0] for u in urls):
                time.sleep(0.2)
            print(json.dumps({'left': [counts(u) for u in urls]}))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("[[0,0],[0,0],[0,0]]", result.Json["left"]!.ToJsonString());

        var boundedPeak = PeakOverlap(await LogLinesAsync(shared.Http, bounded));
        var unboundedPeak = PeakOverlap(await LogLinesAsync(shared.Http, unbounded));
        Assert.Equal(2, boundedPeak);
        Assert.True(unboundedPeak > 2, $"without ScalingConfig the pollers should grow past 2 with a backlog of 20; peak was {unboundedPeak}");

        // Forty messages sent over a moment, a window of 3 s: gathered into batches larger than one receive (10).
        var batches = (await LogLinesAsync(shared.Http, batched)).Where(l => l.StartsWith("BATCH ", StringComparison.Ordinal)).Select(l => JsonNode.Parse(l[6..])!.AsArray().Count).ToList();
        Assert.Equal(40, batches.Sum());
        Assert.True(batches.Max() > 10, $"batch sizes: {string.Join(",", batches)}");
    }

    /// <summary>The largest number of invocations running at once, from the "SPAN start end" lines the function printed.</summary>
    private static int PeakOverlap(IEnumerable<string> lines)
    {
        var spans = lines.Where(l => l.StartsWith("SPAN ", StringComparison.Ordinal))
            .Select(l => l.Split(' ')).Select(p => (Start: double.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture), End: double.Parse(p[2], System.Globalization.CultureInfo.InvariantCulture))).ToList();
        Assert.Equal(20, spans.Count);
        return spans.Max(s => spans.Count(o => o.Start <= s.Start && o.End > s.Start));
    }

    /// <summary>Every log line the function has written so far, without trailing newlines.</summary>
    internal static async Task<List<string>> LogLinesAsync(HttpClient http, string function)
    {
        var lines = new List<string>();
        var after = 0L;
        while (true)
        {
            var page = JsonNode.Parse(await http.GetStringAsync($"_hayate/logs/{function}?after={after}"))!;
            var events = page["events"]!.AsArray();
            if (events.Count == 0)
            {
                return lines;
            }

            lines.AddRange(events.Select(e => e!["message"]!.GetValue<string>().TrimEnd('\n')));
            after = page["nextToken"]!.GetValue<long>();
        }
    }
}
