using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>Event source mappings over the built-in Kinesis-compatible stream: order, starting positions, retries, bisection, partial failures, checkpoints.</summary>
public sealed class StreamMappingTests(SharedServer shared)
{
    /// <summary>
    /// Python helpers: `kinesis`, `wait_state`, `put(stream, items, key)` returning sequence numbers, and
    /// `seen(fn)`: the batches a function printed ("BATCH [[shard, sequence, data], …]"), read from its log.
    /// </summary>
    private const string Helpers = """
        import time, datetime, urllib.request
        endpoint = lambda_client.meta.endpoint_url
        kinesis = boto3.client('kinesis', endpoint_url=endpoint, region_name='us-east-1', config=Config(retries={'max_attempts': 0}))
        sqs = boto3.client('sqs', endpoint_url=endpoint, region_name='us-east-1', config=Config(retries={'max_attempts': 0}))
        def wait_state(uuid, want, seconds=10):
            end = time.time() + seconds
            while lambda_client.get_event_source_mapping(UUID=uuid)['State'] != want and time.time() < end:
                time.sleep(0.05)
            return lambda_client.get_event_source_mapping(UUID=uuid)['State']
        def stream(name, shards=1):
            kinesis.create_stream(StreamName=name, ShardCount=shards)
            return kinesis.describe_stream_summary(StreamName=name)['StreamDescriptionSummary']['StreamARN']
        def put(name, items, key=None):
            reply = kinesis.put_records(StreamName=name, Records=[{'Data': d.encode(), 'PartitionKey': key or d} for d in items])
            return [r['SequenceNumber'] for r in reply['Records']]
        def log(fn):
            lines, after = [], 0
            while True:
                page = json.load(urllib.request.urlopen(f'{endpoint}/_hayate/logs/{fn}?after={after}'))
                if not page['events']:
                    return lines
                lines += [e['message'].rstrip('\n') for e in page['events']]
                after = page['nextToken']
        def seen(fn, prefix='BATCH '):
            return [json.loads(l[len(prefix):]) for l in log(fn) if l.startswith(prefix)]
        def records(fn, prefix='BATCH '):
            return [r for b in seen(fn, prefix) for r in b]
        def wait_for(check, seconds=30):
            end = time.time() + seconds
            while not check() and time.time() < end:
                time.sleep(0.2)
            return check()
        """;

    /// <summary>Prints each batch as "BATCH [[shard, sequence, data], …]" and its first record as "EVENT {…}".</summary>
    private static readonly byte[] Recorder = Zip.Of(("app.py", """
        import base64, json
        def handler(event, context):
            rs = event['Records']
            print('BATCH ' + json.dumps([[r['eventID'].split(':')[0], r['kinesis']['sequenceNumber'], base64.b64decode(r['kinesis']['data']).decode()] for r in rs]))
            print('EVENT ' + json.dumps(rs[0]))
        """));

    /// <summary>Fails any batch holding a record "poison"; prints the batches it accepts as "BATCH …".</summary>
    private static readonly byte[] PoisonSensitive = Zip.Of(("app.py", """
        import base64, json
        def handler(event, context):
            rs = [[r['eventID'].split(':')[0], r['kinesis']['sequenceNumber'], base64.b64decode(r['kinesis']['data']).decode()] for r in event['Records']]
            if any(r[2] == 'poison' for r in rs):
                print('FAILED ' + json.dumps(rs))
                raise Exception('poison in the batch')
            print('BATCH ' + json.dumps(rs))
        """));

    [Fact]
    public async Task KinesisMapping_ReadsEveryShardInOrder_FromTrimHorizonLatestOrATimestamp()
    {
        var fn = Names.New("kmpos");
        foreach (var suffix in new[] { "-trim", "-latest", "-ts" })
        {
            await shared.CreateFunctionAsync(fn + suffix, "python3.12", "app.handler", Recorder);
        }

        var result = await Clients.Boto3Async(shared.Endpoint, Helpers + "\n" + $$"""
            fn = '{{fn}}'
            arn = stream(fn, shards=2)
            early = put(fn, [f'early{i}' for i in range(20)])
            mark_s = int(time.time()) + 1
            time.sleep(mark_s + 0.05 - time.time())
            mid = put(fn, [f'mid{i}' for i in range(10)])
            trim = lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn + '-trim', StartingPosition='TRIM_HORIZON', BatchSize=4)
            latest = lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn + '-latest', StartingPosition='LATEST')
            ts = lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn + '-ts', StartingPosition='AT_TIMESTAMP',
                StartingPositionTimestamp=datetime.datetime.fromtimestamp(mark_s, datetime.timezone.utc))
            states = [wait_state(m['UUID'], 'Enabled') for m in (trim, latest, ts)]
            late = put(fn, [f'late{i}' for i in range(10)])
            wait_for(lambda: len(records(fn + '-trim')) >= 40 and len(records(fn + '-latest')) >= 10 and len(records(fn + '-ts')) >= 20)
            time.sleep(1)
            shards = {}
            it = {}
            for s in ['shardId-000000000000', 'shardId-000000000001']:
                i = kinesis.get_shard_iterator(StreamName=fn, ShardId=s, ShardIteratorType='TRIM_HORIZON')['ShardIterator']
                shards[s] = [[s, r['SequenceNumber'], r['Data'].decode()] for r in kinesis.get_records(ShardIterator=i)['Records']]
            event = [json.loads(l[6:]) for l in log(fn + '-trim') if l.startswith('EVENT ')][0]
            print(json.dumps({'states': states, 'shards': shards, 'trim': seen(fn + '-trim'), 'latest': records(fn + '-latest'), 'ts': records(fn + '-ts'),
                'event': event, 'trim_config': [trim['StartingPosition'], trim['BatchSize'], trim['MaximumRetryAttempts'], trim['MaximumRecordAgeInSeconds'],
                trim['BisectBatchOnFunctionError'], trim['ParallelizationFactor'], trim['MaximumBatchingWindowInSeconds']], 'ts_start': ts['StartingPositionTimestamp'].timestamp() }))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        Assert.Equal("""["Enabled","Enabled","Enabled"]""", json["states"]!.ToJsonString());
        Assert.Equal("""["TRIM_HORIZON",4,-1,-1,false,1,0]""", json["trim_config"]!.ToJsonString());

        // TRIM_HORIZON: every record once, each shard's in its order, in batches of at most 4 from one shard.
        var shards = json["shards"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.AsArray().Select(r => r!.ToJsonString()).ToList());
        Assert.All(shards.Values, s => Assert.NotEmpty(s));
        var batches = json["trim"]!.AsArray().Select(b => b!.AsArray()).ToList();
        Assert.All(batches, b => Assert.InRange(b.Count, 1, 4));
        Assert.All(batches, b => Assert.Single(b.Select(r => r![0]!.GetValue<string>()).Distinct()));
        foreach (var (shard, expected) in shards)
        {
            var delivered = batches.SelectMany(b => b).Where(r => r![0]!.GetValue<string>() == shard).Select(r => r!.ToJsonString()).ToList();
            Assert.Equal(expected, delivered);
        }

        // LATEST: only what was put after the mapping; AT_TIMESTAMP: from the mark on. Each shard in order.
        var latest = json["latest"]!.AsArray().Select(r => r![2]!.GetValue<string>()).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"late{i}").Order(), latest);
        var fromMark = json["ts"]!.AsArray().Select(r => r![2]!.GetValue<string>()).ToList();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"mid{i}").Concat(Enumerable.Range(0, 10).Select(i => $"late{i}")).Order(), fromMark.Order());
        foreach (var list in new[] { json["latest"]!.AsArray(), json["ts"]!.AsArray() })
        {
            foreach (var group in list.GroupBy(r => r![0]!.GetValue<string>()))
            {
                var sequence = group.Select(r => r![1]!.GetValue<string>()).ToList();
                Assert.Equal(sequence.Order(StringComparer.Ordinal), sequence);
            }
        }

        // The record shape Lambda sends for Kinesis.
        var record = json["event"]!;
        Assert.Equal("aws:kinesis", record["eventSource"]!.GetValue<string>());
        Assert.Equal("aws:kinesis:record", record["eventName"]!.GetValue<string>());
        Assert.Equal("1.0", record["eventVersion"]!.GetValue<string>());
        Assert.Equal($"arn:aws:kinesis:us-east-1:000000000000:stream/{fn}", record["eventSourceARN"]!.GetValue<string>());
        Assert.Equal("us-east-1", record["awsRegion"]!.GetValue<string>());
        Assert.Equal("arn:aws:iam::000000000000:role/test", record["invokeIdentityArn"]!.GetValue<string>());
        Assert.Equal("1.0", record["kinesis"]!["kinesisSchemaVersion"]!.GetValue<string>());
        Assert.StartsWith("early", record["kinesis"]!["partitionKey"]!.GetValue<string>());
        Assert.True(record["kinesis"]!["approximateArrivalTimestamp"]!.GetValue<double>() > 1.7e9);
        Assert.Equal(record["eventID"]!.GetValue<string>(), $"{batches[0][0]![0]}:{record["kinesis"]!["sequenceNumber"]}");
    }

    [Fact]
    public async Task KinesisMapping_AFailingBatch_IsBisectedToThePoisonRecord_RetriedThenReportedToOnFailure_WithoutReordering()
    {
        var fn = Names.New("kmpoison");
        await shared.CreateFunctionAsync(fn, "python3.12", "app.handler", PoisonSensitive);
        await shared.CreateFunctionAsync(fn + "-block", "python3.12", "app.handler", PoisonSensitive);
        var result = await Clients.Boto3Async(shared.Endpoint, Helpers + "\n" + $$"""
            fn = '{{fn}}'
            arn = stream(fn)
            block_arn = stream(fn + '-block')
            dest_url = sqs.create_queue(QueueName=fn + '-failures')['QueueUrl']
            dest_arn = sqs.get_queue_attributes(QueueUrl=dest_url, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
            items = ['r0', 'r1', 'r2', 'r3', 'r4', 'poison', 'r6', 'r7', 'r8', 'r9']
            seqs = put(fn, items, key='one')
            block_seqs = put(fn + '-block', items, key='one')
            out = {}
            lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, StartingPosition='TRIM_HORIZON', BatchSize=10,
                MaximumRetryAttempts=1, BisectBatchOnFunctionError=True, DestinationConfig={'OnFailure': {'Destination': dest_arn} })
            # The default: retry until the records expire. Nothing after the poison may overtake it.
            block = lambda_client.create_event_source_mapping(EventSourceArn=block_arn, FunctionName=fn + '-block', StartingPosition='TRIM_HORIZON', BatchSize=1)
            def failure_records():
                a = sqs.get_queue_attributes(QueueUrl=dest_url, AttributeNames=['ApproximateNumberOfMessages'])['Attributes']
                return int(a['ApproximateNumberOfMessages'])
            wait_for(lambda: failure_records() >= 1 and len(records(fn)) >= 9)
            out['delivered'] = [r[2] for r in records(fn)]
            out['failed_batches'] = [[r[2] for r in b] for b in seen(fn, 'FAILED ')]
            message = sqs.receive_message(QueueUrl=dest_url)['Messages'][0]
            out['destination'] = json.loads(message['Body'])
            out['poison_seq'] = seqs[5]
            out['blocked'] = [r[2] for r in records(fn + '-block')]
            out['blocked_attempts'] = len(seen(fn + '-block', 'FAILED '))
            # Disabled, the mapping stops retrying at once.
            lambda_client.update_event_source_mapping(UUID=block['UUID'], Enabled=False)
            wait_state(block['UUID'], 'Disabled')
            time.sleep(0.5)
            paused = len(seen(fn + '-block', 'FAILED '))
            time.sleep(3)
            out['disabled_attempts'] = len(seen(fn + '-block', 'FAILED ')) - paused
            # Lifting the limit on the blocked mapping lets the shard move on, in order.
            lambda_client.update_event_source_mapping(UUID=block['UUID'], MaximumRetryAttempts=0, Enabled=True)
            wait_for(lambda: len(records(fn + '-block')) >= 9)
            out['released'] = [r[2] for r in records(fn + '-block')]
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;

        // Bisection isolated the poison; every other record went through once, in order.
        Assert.Equal("""["r0","r1","r2","r3","r4","r6","r7","r8","r9"]""", json["delivered"]!.ToJsonString());
        var failed = json["failed_batches"]!.AsArray().Select(b => b!.ToJsonString()).ToList();
        Assert.Equal("""["r0","r1","r2","r3","r4","poison","r6","r7","r8","r9"]""", failed[0]);
        Assert.Equal(2, failed.Count(b => b == """["poison"]"""));

        var destination = json["destination"]!;
        var poison = json["poison_seq"]!.GetValue<string>();
        Assert.Equal("RetryAttemptsExhausted", destination["requestContext"]!["condition"]!.GetValue<string>());
        Assert.Equal($"arn:aws:lambda:us-east-1:000000000000:function:{fn}", destination["requestContext"]!["functionArn"]!.GetValue<string>());
        Assert.Equal(2, destination["requestContext"]!["approximateInvokeCount"]!.GetValue<int>());
        Assert.Equal("Unhandled", destination["responseContext"]!["functionError"]!.GetValue<string>());
        Assert.Equal("1.0", destination["version"]!.GetValue<string>());
        var info = destination["KinesisBatchInfo"]!;
        Assert.Equal("shardId-000000000000", info["shardId"]!.GetValue<string>());
        Assert.Equal(poison, info["startSequenceNumber"]!.GetValue<string>());
        Assert.Equal(poison, info["endSequenceNumber"]!.GetValue<string>());
        Assert.Equal(1, info["batchSize"]!.GetValue<int>());
        Assert.Equal($"arn:aws:kinesis:us-east-1:000000000000:stream/{fn}", info["streamArn"]!.GetValue<string>());

        // Retried without limit, the poison held back every record behind it, until the limit was set.
        Assert.Equal("""["r0","r1","r2","r3","r4"]""", json["blocked"]!.ToJsonString());
        Assert.True(json["blocked_attempts"]!.GetValue<int>() >= 2);
        Assert.Equal(0, json["disabled_attempts"]!.GetValue<int>());
        Assert.Equal("""["r0","r1","r2","r3","r4","r6","r7","r8","r9"]""", json["released"]!.ToJsonString());
    }

    /// <summary>Lambda's smallest record age limit is 60 s, so this test takes a minute (it runs beside the others).</summary>
    [Fact]
    public async Task KinesisMapping_ReportBatchItemFailures_ResumesFromTheFirstFailedSequenceNumber()
    {
        var fn = Names.New("kmpartial");
        await shared.CreateFunctionAsync(fn, "python3.12", "app.handler", Zip.Of(("app.py", """
            import base64, json
            calls = 0
            def handler(event, context):
                global calls
                calls += 1
                rs = [[r['eventID'].split(':')[0], r['kinesis']['sequenceNumber'], base64.b64decode(r['kinesis']['data']).decode()] for r in event['Records']]
                print('BATCH ' + json.dumps(rs))
                bad = [r[1] for r in rs if r[2].startswith('bad')]
                return {'batchItemFailures': [{'itemIdentifier': bad[0]}] if bad and calls == 1 else []}
            """)));
        var result = await Clients.Boto3Async(shared.Endpoint, Helpers + "\n" + $$"""
            fn = '{{fn}}'
            arn = stream(fn)
            put(fn, ['g0', 'g1', 'bad0', 'g2', 'g3'], key='one')
            lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, StartingPosition='TRIM_HORIZON', BatchSize=10,
                FunctionResponseTypes=['ReportBatchItemFailures'])
            wait_for(lambda: len(seen(fn)) >= 2)
            time.sleep(1.5)
            print(json.dumps({'batches': [[r[2] for r in b] for b in seen(fn)]}))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal("""[["g0","g1","bad0","g2","g3"],["bad0","g2","g3"]]""", result.Json["batches"]!.ToJsonString());
    }

    [Fact]
    public async Task KinesisMapping_Checkpoint_SurvivesARestart_SoNothingIsReadTwice()
    {
        await using var server = await ServerProcess.StartAsync();
        var fn = Names.New("kmrestart");
        using (var http = new HttpClient { BaseAddress = new Uri(server.Endpoint + "/") })
        {
            await SharedServer.CreateFunctionAsync(http, fn, "python3.12", "app.handler", Recorder);
        }

        var first = await Clients.Boto3Async(server.Endpoint, Helpers + "\n" + $$"""
            arn = stream('{{fn}}', shards=2)
            lambda_client.create_event_source_mapping(EventSourceArn=arn, FunctionName='{{fn}}', StartingPosition='TRIM_HORIZON', BatchSize=3)
            put('{{fn}}', [f'a{i}' for i in range(10)])
            print(json.dumps({'seen': wait_for(lambda: len(records('{{fn}}')) >= 10)}))
            """);
        Assert.True(first.ExitCode == 0, first.Stderr);
        Assert.True(first.Json["seen"]!.GetValue<bool>());
        await Task.Delay(500);
        Assert.Equal(0, await server.TerminateAsync(TimeSpan.FromSeconds(30)));

        await using var again = await ServerProcess.StartAsync(server.DataDirectory);
        var second = await Clients.Boto3Async(again.Endpoint, Helpers + "\n" + $$"""
            put('{{fn}}', [f'b{i}' for i in range(10)])
            wait_for(lambda: len(records('{{fn}}')) >= 20)
            time.sleep(1.5)
            print(json.dumps({'data': sorted(r[2] for r in records('{{fn}}'))}))
            """);
        Assert.True(second.ExitCode == 0, second.Stderr);
        var expected = Enumerable.Range(0, 10).Select(i => $"a{i}").Concat(Enumerable.Range(0, 10).Select(i => $"b{i}")).Order(StringComparer.Ordinal);
        Assert.Equal(expected, second.Json["data"]!.AsArray().Select(d => d!.GetValue<string>()));
    }
}
