using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.Kinesis.Tests;

/// <summary>The built-in stream service over the Kinesis JSON protocol, with boto3 and the AWS CLI.</summary>
public sealed class KinesisTests(SharedServer shared)
{
    /// <summary>Runs a boto3 script with `kinesis` bound to a Kinesis client and `kerr(call)` giving [code, status, message] of a failing call.</summary>
    private static async Task<JsonNode> KinesisAsync(string endpoint, string script)
    {
        var prelude = $$$"""
            import hashlib, time, datetime
            kinesis = boto3.client('kinesis', endpoint_url='{{{endpoint}}}', region_name='us-east-1', config=Config(retries={'max_attempts': 0}))
            def kerr(call):
                try:
                    call()
                    return None
                except botocore.exceptions.ClientError as e:
                    return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Message']]
            def read_all(stream, shard, kind='TRIM_HORIZON', **extra):
                it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType=kind, **extra)['ShardIterator']
                records = []
                while True:
                    page = kinesis.get_records(ShardIterator=it, Limit=7)
                    records += page['Records']
                    it = page['NextShardIterator']
                    if not page['Records']:
                        return records
            """;
        var result = await Clients.Boto3Async(endpoint, prelude + "\n" + script);
        Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
        return result.Json;
    }

    [Fact]
    public async Task PutRecords_GoToTheShardOfTheirPartitionKeysHash_AndReadBackInOrder()
    {
        var name = Names.New("ks");
        var json = await KinesisAsync(shared.Endpoint, $$"""
            stream = '{{name}}'
            kinesis.create_stream(StreamName=stream, ShardCount=3)
            kinesis.get_waiter('stream_exists').wait(StreamName=stream, WaiterConfig={'Delay': 1, 'MaxAttempts': 5})
            shards = kinesis.list_shards(StreamName=stream)['Shards']
            def owner(key):
                h = int(hashlib.md5(key.encode()).hexdigest(), 16)
                return next(s['ShardId'] for s in shards if int(s['HashKeyRange']['StartingHashKey']) <= h <= int(s['HashKeyRange']['EndingHashKey']))
            put = []
            for round in range(3):
                entries = [{'Data': bytes([round, i, 0, 255]) + f'r{round}-k{i}'.encode(), 'PartitionKey': f'k{i}'} for i in range(20)]
                reply = kinesis.put_records(StreamName=stream, Records=entries)
                assert reply['FailedRecordCount'] == 0
                put += [(e['PartitionKey'], e['Data'], r['ShardId'], r['SequenceNumber']) for e, r in zip(entries, reply['Records'])]
            single = kinesis.put_record(StreamName=stream, Data=b'explicit', PartitionKey='any', ExplicitHashKey=shards[2]['HashKeyRange']['StartingHashKey'])
            out = {'routed': all(shard == owner(key) for key, _, shard, _ in put), 'explicit': single['ShardId'] == shards[2]['ShardId'], 'order': True, 'data': True}
            used = set()
            for s in shards:
                got = read_all(stream, s['ShardId'])
                mine = [p for p in put if p[2] == s['ShardId']] + ([(None, b'explicit', s['ShardId'], single['SequenceNumber'])] if s is shards[2] else [])
                used.add(len(mine) > 0)
                out['order'] &= [r['SequenceNumber'] for r in got] == [p[3] for p in mine]
                out['data'] &= [r['Data'] for r in got] == [p[1] for p in mine]
                out['order'] &= all(int(a['SequenceNumber']) < int(b['SequenceNumber']) for a, b in zip(got, got[1:]))
            out['all_shards_used'] = used == {True}
            # Positions inside shard 0: at, after, latest, at a timestamp.
            s0 = [p for p in put if p[2] == shards[0]['ShardId']]
            at = read_all(stream, shards[0]['ShardId'], 'AT_SEQUENCE_NUMBER', StartingSequenceNumber=s0[2][3])
            after = read_all(stream, shards[0]['ShardId'], 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber=s0[2][3])
            out['at'] = [r['SequenceNumber'] for r in at] == [p[3] for p in s0[2:]]
            out['after'] = [r['SequenceNumber'] for r in after] == [p[3] for p in s0[3:]]
            latest_it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shards[0]['ShardId'], ShardIteratorType='LATEST')['ShardIterator']
            out['latest_empty'] = kinesis.get_records(ShardIterator=latest_it)['Records']
            # botocore sends timestamps in whole seconds: mark the next second and put after it.
            mark_s = int(time.time()) + 1
            time.sleep(mark_s + 0.05 - time.time())
            mark = datetime.datetime.fromtimestamp(mark_s, datetime.timezone.utc)
            late = kinesis.put_record(StreamName=stream, Data=b'late', PartitionKey=s0[0][0])
            out['latest_then'] = [r['Data'].decode() for r in kinesis.get_records(ShardIterator=latest_it)['Records']]
            out['at_timestamp'] = [r['Data'].decode() for r in read_all(stream, shards[0]['ShardId'], 'AT_TIMESTAMP', Timestamp=mark)]
            first = kinesis.get_records(ShardIterator=kinesis.get_shard_iterator(StreamName=stream, ShardId=shards[0]['ShardId'], ShardIteratorType='TRIM_HORIZON')['ShardIterator'], Limit=1)
            out['behind'] = [len(first['Records']), first['MillisBehindLatest'] >= 0, type(first['Records'][0]['ApproximateArrivalTimestamp']).__name__]
            out['by_arn'] = kinesis.describe_stream_summary(StreamARN=f'arn:aws:kinesis:us-east-1:000000000000:stream/{stream}')['StreamDescriptionSummary']['OpenShardCount']
            print(json.dumps(out))
            """);
        foreach (var check in new[] { "routed", "explicit", "order", "data", "all_shards_used", "at", "after" })
        {
            Assert.True(json[check]!.GetValue<bool>(), check);
        }

        Assert.Equal("[]", json["latest_empty"]!.ToJsonString());
        Assert.Equal("""["late"]""", json["latest_then"]!.ToJsonString());
        Assert.Equal("""["late"]""", json["at_timestamp"]!.ToJsonString());
        Assert.Equal("""[1,true,"datetime"]""", json["behind"]!.ToJsonString());
        Assert.Equal(3, json["by_arn"]!.GetValue<int>());
    }

    [Fact]
    public async Task ControlPlane_ListsDescribesAndDeletes_AndBadRequestsChangeNothing()
    {
        var prefix = Names.New("kc");
        var json = await KinesisAsync(shared.Endpoint, $$"""
            p = '{{prefix}}'
            out = {}
            for i in range(3):
                kinesis.create_stream(StreamName=f'{p}-{i}', ShardCount=2)
            kinesis.create_stream(StreamName=f'{p}-od')
            names = []
            for page in kinesis.get_paginator('list_streams').paginate(PaginationConfig={'PageSize': 2}):
                names += page['StreamNames']
            out['listed'] = [n for n in names if n.startswith(p)]
            # Not boto3's list_shards paginator: it sends StreamName with NextToken, which Kinesis refuses (botocore#2009).
            page = kinesis.list_shards(StreamName=f'{p}-od', MaxResults=3)
            shard_ids = [s['ShardId'] for s in page['Shards']]
            out['token_and_name'] = kerr(lambda: kinesis.list_shards(StreamName=f'{p}-od', NextToken=page['NextToken']))
            while 'NextToken' in page:
                page = kinesis.list_shards(NextToken=page['NextToken'], MaxResults=3)
                shard_ids += [s['ShardId'] for s in page['Shards']]
            out['shards'] = shard_ids
            d = kinesis.describe_stream(StreamName=f'{p}-0')['StreamDescription']
            out['described'] = [d['StreamStatus'], d['StreamARN'], d['RetentionPeriodHours'], d['StreamModeDetails']['StreamMode'], len(d['Shards']), d['HasMoreShards'],
                d['Shards'][0]['HashKeyRange']['StartingHashKey'], d['Shards'][1]['HashKeyRange']['EndingHashKey'], str(2**128 - 1)]
            # Kinesis halves the space exactly: shard 0 ends at 2^127 - 1.
            out['halves'] = [d['Shards'][0]['HashKeyRange']['EndingHashKey'] == str(2**127 - 1), d['Shards'][1]['HashKeyRange']['StartingHashKey'] == str(2**127)]
            out['od_mode'] = kinesis.describe_stream_summary(StreamName=f'{p}-od')['StreamDescriptionSummary']['StreamModeDetails']['StreamMode']
            out['exists'] = kerr(lambda: kinesis.create_stream(StreamName=f'{p}-0', ShardCount=1))
            out['missing'] = kerr(lambda: kinesis.describe_stream(StreamName=f'{p}-none'))
            out['bad_name'] = kerr(lambda: kinesis.create_stream(StreamName='no spaces', ShardCount=1))
            out['too_many_shards'] = kerr(lambda: kinesis.create_stream(StreamName=f'{p}-z', ShardCount=100000))
            out['no_shard'] = kerr(lambda: kinesis.get_shard_iterator(StreamName=f'{p}-0', ShardId='shardId-000000000007', ShardIteratorType='TRIM_HORIZON'))
            out['no_sequence'] = kerr(lambda: kinesis.get_shard_iterator(StreamName=f'{p}-0', ShardId='shardId-000000000000', ShardIteratorType='AT_SEQUENCE_NUMBER'))
            out['bad_iterator'] = kerr(lambda: kinesis.get_records(ShardIterator='not-an-iterator'))
            out['too_many_records'] = kerr(lambda: kinesis.put_records(StreamName=f'{p}-0', Records=[{'Data': b'x', 'PartitionKey': 'k'}] * 501))
            out['too_big'] = kerr(lambda: kinesis.put_record(StreamName=f'{p}-0', Data=b'x' * (1024 * 1024), PartitionKey='k'))
            out['bad_hash'] = kerr(lambda: kinesis.put_record(StreamName=f'{p}-0', Data=b'x', PartitionKey='k', ExplicitHashKey=str(2**128)))
            out['put_missing'] = kerr(lambda: kinesis.put_record(StreamName=f'{p}-none', Data=b'x', PartitionKey='k'))
            # Nothing of the refused puts was stored.
            it = kinesis.get_shard_iterator(StreamName=f'{p}-0', ShardId='shardId-000000000000', ShardIteratorType='TRIM_HORIZON')['ShardIterator']
            it1 = kinesis.get_shard_iterator(StreamName=f'{p}-0', ShardId='shardId-000000000001', ShardIteratorType='TRIM_HORIZON')['ShardIterator']
            out['stored'] = len(kinesis.get_records(ShardIterator=it)['Records']) + len(kinesis.get_records(ShardIterator=it1)['Records'])
            kinesis.delete_stream(StreamName=f'{p}-1')
            out['deleted'] = kerr(lambda: kinesis.describe_stream_summary(StreamName=f'{p}-1'))
            out['delete_again'] = kerr(lambda: kinesis.delete_stream(StreamName=f'{p}-1'))
            out['after_delete'] = [n for n in kinesis.list_streams(Limit=10000)['StreamNames'] if n.startswith(p)]
            print(json.dumps(out))
            """);
        Assert.Equal($$"""["{{prefix}}-0","{{prefix}}-1","{{prefix}}-2","{{prefix}}-od"]""", json["listed"]!.ToJsonString());
        Assert.Equal("""["shardId-000000000000","shardId-000000000001","shardId-000000000002","shardId-000000000003"]""", json["shards"]!.ToJsonString());
        var described = json["described"]!.AsArray();
        Assert.Equal("ACTIVE", described[0]!.GetValue<string>());
        Assert.Equal($"arn:aws:kinesis:us-east-1:000000000000:stream/{prefix}-0", described[1]!.GetValue<string>());
        Assert.Equal(24, described[2]!.GetValue<int>());
        Assert.Equal("PROVISIONED", described[3]!.GetValue<string>());
        Assert.Equal(2, described[4]!.GetValue<int>());
        Assert.False(described[5]!.GetValue<bool>());
        Assert.Equal("0", described[6]!.GetValue<string>());
        Assert.Equal(described[8]!.GetValue<string>(), described[7]!.GetValue<string>());
        Assert.Equal("ON_DEMAND", json["od_mode"]!.GetValue<string>());
        Assert.Equal("[true,true]", json["halves"]!.ToJsonString());
        AssertError(json["token_and_name"], "InvalidArgumentException", "NextToken and StreamName cannot be provided together.");

        AssertError(json["exists"], "ResourceInUseException", "already exists");
        AssertError(json["missing"], "ResourceNotFoundException", $"Stream {prefix}-none under account 000000000000 not found.");
        AssertError(json["bad_name"], "ValidationException", "streamName");
        AssertError(json["too_many_shards"], "LimitExceededException", "shard limit");
        AssertError(json["no_shard"], "ResourceNotFoundException", "shardId-000000000007");
        AssertError(json["no_sequence"], "InvalidArgumentException", "StartingSequenceNumber");
        AssertError(json["bad_iterator"], "InvalidArgumentException", "ShardIterator");
        AssertError(json["too_many_records"], "ValidationException", "500");
        AssertError(json["too_big"], "ValidationException", "data");
        AssertError(json["bad_hash"], "InvalidArgumentException", "ExplicitHashKey");
        AssertError(json["put_missing"], "ResourceNotFoundException", "not found");
        Assert.Equal(0, json["stored"]!.GetValue<int>());
        AssertError(json["deleted"], "ResourceNotFoundException", "not found");
        AssertError(json["delete_again"], "ResourceNotFoundException", "not found");
        Assert.Equal($$"""["{{prefix}}-0","{{prefix}}-2","{{prefix}}-od"]""", json["after_delete"]!.ToJsonString());

        // The AWS CLI, and a body that is not JSON.
        var created = await Clients.AwsAsync(shared.Endpoint, "kinesis", "create-stream", "--stream-name", prefix + "-cli", "--shard-count", "1");
        Assert.True(created.ExitCode == 0, created.Stderr);
        var put = await Clients.AwsAsync(shared.Endpoint, "kinesis", "put-record", "--stream-name", prefix + "-cli", "--partition-key", "k", "--data", "hello");
        Assert.True(put.ExitCode == 0, put.Stderr);
        Assert.Equal("shardId-000000000000", put.Json["ShardId"]!.GetValue<string>());
        var summary = await Clients.AwsAsync(shared.Endpoint, "kinesis", "describe-stream-summary", "--stream-name", prefix + "-cli");
        Assert.Equal(1, summary.Json["StreamDescriptionSummary"]!["OpenShardCount"]!.GetValue<int>());
        // What botocore checks before sending, checked again on the wire: no stream is created.
        foreach (var (operation, body, error) in new[]
        {
            ("PutRecord", "{not json", "SerializationException"),
            ("CreateStream", $$$"""{"StreamName": "{{{prefix}}}-z", "ShardCount": 0}""", "ValidationException"),
            ("CreateStream", $$$"""{"StreamName": "{{{prefix}}}-z", "ShardCount": "two"}""", "SerializationException"),
            ("GetShardIterator", $$$"""{"StreamName": "{{{prefix}}}-0", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": 1e20}""", "InvalidArgumentException"),
        })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body) };
            request.Headers.Add("X-Amz-Target", "Kinesis_20131202." + operation);
            using var response = await shared.Http.SendAsync(request);
            Assert.Equal(400, (int)response.StatusCode);
            Assert.Equal(error, response.Headers.GetValues("x-amzn-ErrorType").Single());
        }

        var missing = await Clients.AwsAsync(shared.Endpoint, "kinesis", "describe-stream-summary", "--stream-name", prefix + "-z");
        Assert.Contains("ResourceNotFoundException", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Records_SurviveAKilledServer_AndSequenceNumbersKeepGrowing()
    {
        await using var server = await ServerProcess.StartAsync();
        var name = Names.New("kd");
        var before = await KinesisAsync(server.Endpoint, $$"""
            kinesis.create_stream(StreamName='{{name}}', ShardCount=1)
            reply = kinesis.put_records(StreamName='{{name}}', Records=[{'Data': f'd{i}'.encode(), 'PartitionKey': str(i)} for i in range(100)])
            print(json.dumps({'last': reply['Records'][-1]['SequenceNumber']}))
            """);
        await server.KillAsync();
        await using var again = await ServerProcess.StartAsync(server.DataDirectory);
        var after = await KinesisAsync(again.Endpoint, $$"""
            more = kinesis.put_record(StreamName='{{name}}', Data=b'after', PartitionKey='x')['SequenceNumber']
            got = read_all('{{name}}', 'shardId-000000000000')
            print(json.dumps({'data': [r['Data'].decode() for r in got], 'more': more}))
            """);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"d{i}").Append("after"), after["data"]!.AsArray().Select(d => d!.GetValue<string>()));
        Assert.True(string.CompareOrdinal(after["more"]!.GetValue<string>(), before["last"]!.GetValue<string>()) > 0);
    }

    [Fact]
    public async Task GetRecords_StopsAt10MiB_AndARecreatedStreamNumbersPastTheOldOne()
    {
        var name = Names.New("kbig");
        var json = await KinesisAsync(shared.Endpoint, $$"""
            s = '{{name}}'
            kinesis.create_stream(StreamName=s, ShardCount=1)
            for chunk in range(3):
                kinesis.put_records(StreamName=s, Records=[{'Data': bytes([chunk * 4 + i]) * 1_000_000, 'PartitionKey': 'k'} for i in range(4)])
            it = kinesis.get_shard_iterator(StreamName=s, ShardId='shardId-000000000000', ShardIteratorType='TRIM_HORIZON')['ShardIterator']
            first = kinesis.get_records(ShardIterator=it)
            second = kinesis.get_records(ShardIterator=first['NextShardIterator'])
            old = first['Records'][-1]['SequenceNumber']
            kinesis.delete_stream(StreamName=s)
            kinesis.create_stream(StreamName=s, ShardCount=1)
            time.sleep(0.01)
            new = kinesis.put_record(StreamName=s, Data=b'new', PartitionKey='k')['SequenceNumber']
            # An old position on the new stream reads it from the start rather than skipping its records.
            after_old = read_all(s, 'shardId-000000000000', 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber=old)
            print(json.dumps({'first': [r['Data'][0] for r in first['Records']], 'behind': first['MillisBehindLatest'] >= 0,
                'second': [r['Data'][0] for r in second['Records']], 'newer': new > old, 'after_old': [r['Data'].decode() for r in after_old]}))
            """);
        Assert.Equal("[0,1,2,3,4,5,6,7,8,9]", json["first"]!.ToJsonString());
        Assert.Equal("[10,11]", json["second"]!.ToJsonString());
        Assert.True(json["newer"]!.GetValue<bool>());
        Assert.Equal("""["new"]""", json["after_old"]!.ToJsonString());
    }

    private static void AssertError(JsonNode? error, string code, string inMessage)
    {
        Assert.NotNull(error);
        Assert.Equal(code, error[0]!.GetValue<string>());
        Assert.Equal(400, error[1]!.GetValue<int>());
        Assert.Contains(inMessage, error[2]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
