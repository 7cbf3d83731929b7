using System.Text;
using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.Sqs.Tests;

/// <summary>The built-in queue service over the SQS JSON protocol, with boto3, the AWS CLI and raw HTTP.</summary>
public sealed class SqsTests(SharedServer shared)
{
    /// <summary>Runs a boto3 script with `sqs` bound to an SQS client and `md5attrs(attrs)` computing SQS's attribute digest independently.</summary>
    private static async Task<JsonNode> SqsAsync(string endpoint, string script)
    {
        var prelude = $$$"""
            import hashlib, struct, time, threading
            sqs = boto3.client('sqs', endpoint_url='{{{endpoint}}}', region_name='us-east-1', config=Config(retries={'max_attempts': 0}, read_timeout=60))
            def md5attrs(a):
                enc = lambda b: struct.pack('>I', len(b)) + b
                buf = b''
                for k in sorted(a):
                    v = a[k]
                    buf += enc(k.encode()) + enc(v['DataType'].encode())
                    buf += (b'\x02' + enc(v['BinaryValue'])) if 'BinaryValue' in v else (b'\x01' + enc(v['StringValue'].encode()))
                return hashlib.md5(buf).hexdigest()
            def qerr(call):
                try:
                    call()
                    return None
                except botocore.exceptions.ClientError as e:
                    return [type(e).__name__, e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
            """;
        var result = await Clients.Boto3Async(endpoint, prelude + "\n" + script);
        Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
        return result.Json;
    }

    [Fact]
    public async Task SendReceive_WithAttributes_DigestsMatchAndMessageIsDeleted()
    {
        var name = Names.New("rt");
        var json = await SqsAsync(shared.Endpoint, $$$"""
            url = sqs.create_queue(QueueName='{{{name}}}')['QueueUrl']
            again = sqs.create_queue(QueueName='{{{name}}}')['QueueUrl']
            clash = qerr(lambda: sqs.create_queue(QueueName='{{{name}}}', Attributes={'VisibilityTimeout': '5'}))
            attrs = {'s': {'DataType': 'String', 'StringValue': 'välue'}, 'n': {'DataType': 'Number', 'StringValue': '42'}, 'b': {'DataType': 'Binary', 'BinaryValue': b'\x00\x01\xff'}}
            body = 'héllo wörld'
            sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attrs)
            got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=['All'], MessageSystemAttributeNames=['All'])['Messages']
            m = got[0]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m['ReceiptHandle'])
            counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['All'])['Attributes']
            print(json.dumps({'url': url, 'again': again, 'clash': clash,
                'sentBody': sent['MD5OfMessageBody'] == hashlib.md5(body.encode()).hexdigest(),
                'sentAttrs': sent['MD5OfMessageAttributes'] == md5attrs(attrs),
                'recvAttrs': m['MD5OfMessageAttributes'] == md5attrs(m['MessageAttributes']),
                'recvBody': m['MD5OfBody'] == hashlib.md5(m['Body'].encode()).hexdigest(),
                'body': m['Body'], 'binary': list(m['MessageAttributes']['b']['BinaryValue']), 'count': m['Attributes']['ApproximateReceiveCount'],
                'hasSent': 'SentTimestamp' in m['Attributes'], 'visible': counts['ApproximateNumberOfMessages'], 'arn': counts['QueueArn'],
                'listed': url in sqs.list_queues(QueueNamePrefix='{{{name}}}')['QueueUrls']}))
            """);
        Assert.EndsWith("/000000000000/" + name, json["url"]!.GetValue<string>());
        Assert.Equal(json["url"]!.GetValue<string>(), json["again"]!.GetValue<string>());
        Assert.Equal("QueueNameExists", json["clash"]![0]!.GetValue<string>());
        Assert.Equal("QueueAlreadyExists", json["clash"]![1]!.GetValue<string>());
        foreach (var check in new[] { "sentBody", "sentAttrs", "recvAttrs", "recvBody", "hasSent", "listed" })
        {
            Assert.True(json[check]!.GetValue<bool>(), check);
        }

        Assert.Equal("héllo wörld", json["body"]!.GetValue<string>());
        Assert.Equal("[0,1,255]", json["binary"]!.ToJsonString());
        Assert.Equal("1", json["count"]!.GetValue<string>());
        Assert.Equal("0", json["visible"]!.GetValue<string>());
        Assert.Equal($"arn:aws:sqs:us-east-1:000000000000:{name}", json["arn"]!.GetValue<string>());
    }

    [Fact]
    public async Task VisibilityTimeout_Expires_MessageRedeliveredAndStaleHandleDeletesNothing()
    {
        var name = Names.New("vis");
        var json = await SqsAsync(shared.Endpoint, $$$"""
            url = sqs.create_queue(QueueName='{{{name}}}', Attributes={'VisibilityTimeout': '1'})['QueueUrl']
            sqs.send_message(QueueUrl=url, MessageBody='again')
            first = sqs.receive_message(QueueUrl=url)['Messages'][0]
            hidden = sqs.receive_message(QueueUrl=url).get('Messages', [])
            t = time.time()
            second = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, AttributeNames=['ApproximateReceiveCount'])['Messages'][0]
            waited = time.time() - t
            sqs.delete_message(QueueUrl=url, ReceiptHandle=first['ReceiptHandle'])
            left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['ApproximateNumberOfMessagesNotVisible'])['Attributes']
            bad = qerr(lambda: sqs.delete_message(QueueUrl=url, ReceiptHandle='garbage'))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=second['ReceiptHandle'])
            gone = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['All'])['Attributes']
            print(json.dumps({'hidden': len(hidden), 'count': second['Attributes']['ApproximateReceiveCount'], 'waited': waited,
                'inflight': left['ApproximateNumberOfMessagesNotVisible'], 'bad': bad, 'total': int(gone['ApproximateNumberOfMessages']) + int(gone['ApproximateNumberOfMessagesNotVisible'])}))
            """);
        Assert.Equal(0, json["hidden"]!.GetValue<int>());
        Assert.Equal("2", json["count"]!.GetValue<string>());
        Assert.InRange(json["waited"]!.GetValue<double>(), 0.3, 3);
        Assert.Equal("1", json["inflight"]!.GetValue<string>());
        Assert.Equal("ReceiptHandleIsInvalid", json["bad"]![0]!.GetValue<string>());
        Assert.Equal(0, json["total"]!.GetValue<int>());
    }

    [Fact]
    public async Task LongPoll_MessageSentDuringWait_ReturnsEarly()
    {
        var name = Names.New("lp");
        var json = await SqsAsync(shared.Endpoint, $$$"""
            url = sqs.create_queue(QueueName='{{{name}}}')['QueueUrl']
            other = boto3.client('sqs', endpoint_url=sqs.meta.endpoint_url, region_name='us-east-1')
            threading.Timer(1.0, lambda: other.send_message(QueueUrl=url, MessageBody='wake')).start()
            t = time.time()
            got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get('Messages', [])
            print(json.dumps({'elapsed': time.time() - t, 'body': got[0]['Body'] if got else None}))
            """);
        Assert.Equal("wake", json["body"]?.GetValue<string>());
        Assert.InRange(json["elapsed"]!.GetValue<double>(), 0.8, 5);
    }

    [Fact]
    public async Task Redrive_AfterMaxReceiveCount_MovesToDeadLetterQueue_AndDelayHidesMessage()
    {
        var name = Names.New("src");
        var json = await SqsAsync(shared.Endpoint, $$$"""
            dlq = sqs.create_queue(QueueName='{{{name}}}-dlq')['QueueUrl']
            arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
            url = sqs.create_queue(QueueName='{{{name}}}', Attributes={'RedrivePolicy': json.dumps({'deadLetterTargetArn': arn, 'maxReceiveCount': 2})})['QueueUrl']
            sqs.send_message(QueueUrl=url, MessageBody='poison')
            counts = []
            for i in range(2):
                m = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)['Messages'][0]
                counts.append(m['Attributes'] if 'Attributes' in m else None)
            third = sqs.receive_message(QueueUrl=url).get('Messages', [])
            dead = sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=2).get('Messages', [])
            sqs.send_message(QueueUrl=url, MessageBody='later', DelaySeconds=1)
            delayed = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['ApproximateNumberOfMessagesDelayed'])['Attributes']['ApproximateNumberOfMessagesDelayed']
            now = sqs.receive_message(QueueUrl=url).get('Messages', [])
            t = time.time()
            after = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get('Messages', [])
            print(json.dumps({'third': len(third), 'dead': [d['Body'] for d in dead], 'delayed': delayed, 'now': len(now), 'after': [a['Body'] for a in after], 'waited': time.time() - t}))
            """);
        Assert.Equal(0, json["third"]!.GetValue<int>());
        Assert.Equal("[\"poison\"]", json["dead"]!.ToJsonString());
        Assert.Equal("1", json["delayed"]!.GetValue<string>());
        Assert.Equal(0, json["now"]!.GetValue<int>());
        Assert.Equal("[\"later\"]", json["after"]!.ToJsonString());
        Assert.InRange(json["waited"]!.GetValue<double>(), 0.2, 3);
    }

    [Fact]
    public async Task Batches_PartialFailure_ReportedPerEntry()
    {
        var name = Names.New("batch");
        var json = await SqsAsync(shared.Endpoint, $$$"""
            url = sqs.create_queue(QueueName='{{{name}}}')['QueueUrl']
            sent = sqs.send_message_batch(QueueUrl=url, Entries=[
                {'Id': 'a', 'MessageBody': 'one'}, {'Id': 'b', 'MessageBody': 'two', 'DelaySeconds': 901}, {'Id': 'c', 'MessageBody': 'three'}])
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)['Messages']
            deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[{'Id': 'x', 'ReceiptHandle': got[0]['ReceiptHandle']}, {'Id': 'y', 'ReceiptHandle': 'bogus'}])
            dup = qerr(lambda: sqs.send_message_batch(QueueUrl=url, Entries=[{'Id': 'a', 'MessageBody': '1'}, {'Id': 'a', 'MessageBody': '2'}]))
            print(json.dumps({'ok': sorted(s['Id'] for s in sent['Successful']), 'failed': [[f['Id'], f['SenderFault']] for f in sent['Failed']],
                'received': sorted(m['Body'] for m in got), 'delOk': [s['Id'] for s in deleted['Successful']], 'delFailed': [[f['Id'], f['Code']] for f in deleted['Failed']], 'dup': dup}))
            """);
        Assert.Equal("[\"a\",\"c\"]", json["ok"]!.ToJsonString());
        Assert.Equal("[[\"b\",true]]", json["failed"]!.ToJsonString());
        Assert.Equal("[\"one\",\"three\"]", json["received"]!.ToJsonString());
        Assert.Equal("[\"x\"]", json["delOk"]!.ToJsonString());
        Assert.Equal("[[\"y\",\"ReceiptHandleIsInvalid\"]]", json["delFailed"]!.ToJsonString());
        Assert.Equal("BatchEntryIdsNotDistinct", json["dup"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task BadInput_NonexistentQueueMalformedJsonMissingUrl_AnswerSqsErrors()
    {
        var cli = await Clients.AwsAsync(shared.Endpoint, "sqs", "get-queue-url", "--queue-name", Names.New("nope"));
        Assert.NotEqual(0, cli.ExitCode);
        Assert.Contains("AWS.SimpleQueueService.NonExistentQueue", cli.Stderr);

        var json = await SqsAsync(shared.Endpoint, """
            e = qerr(lambda: sqs.send_message(QueueUrl=sqs.meta.endpoint_url + '/000000000000/missing-queue-x', MessageBody='x'))
            print(json.dumps({'e': e}))
            """);
        Assert.Equal("[\"QueueDoesNotExist\",\"AWS.SimpleQueueService.NonExistentQueue\",400]", json["e"]!.ToJsonString());

        async Task<(int Status, string Body, string QueryError)> PostAsync(string target, string body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8) };
            request.Content.Headers.ContentType = new("application/x-amz-json-1.0");
            request.Headers.Add("X-Amz-Target", "AmazonSQS." + target);
            using var response = await shared.Http.SendAsync(request);
            var header = response.Headers.TryGetValues("x-amzn-query-error", out var values) ? string.Join(",", values) : "";
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(), header);
        }

        var malformed = await PostAsync("SendMessage", "{\"QueueUrl\": ");
        Assert.Equal(400, malformed.Status);
        Assert.Contains("SerializationException", malformed.Body);

        var missing = await PostAsync("ReceiveMessage", "{}");
        Assert.Equal(400, missing.Status);
        Assert.Contains("com.amazonaws.sqs#MissingParameter", missing.Body);
        Assert.Equal("MissingParameter;Sender", missing.QueryError);
    }

    [Fact]
    public async Task Fifo_OrdersWithinGroupAndDeduplicates()
    {
        var name = Names.New("fifo") + ".fifo";
        var json = await SqsAsync(shared.Endpoint, $$$"""
            url = sqs.create_queue(QueueName='{{{name}}}', Attributes={'FifoQueue': 'true', 'ContentBasedDeduplication': 'true'})['QueueUrl']
            ids = [sqs.send_message(QueueUrl=url, MessageBody=b, MessageGroupId='g') for b in ['1', '2', '3', '1']]
            first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=30)['Messages']
            blocked = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get('Messages', [])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]['ReceiptHandle'])
            rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=['All'])['Messages']
            print(json.dumps({'first': first[0]['Body'], 'blocked': len(blocked), 'rest': [m['Body'] for m in rest],
                'dedup': ids[3]['MessageId'] == ids[0]['MessageId'], 'seq': int(ids[1]['SequenceNumber']) > int(ids[0]['SequenceNumber'])}))
            """);
        Assert.Equal("1", json["first"]!.GetValue<string>());
        Assert.Equal(0, json["blocked"]!.GetValue<int>());
        Assert.Equal("[\"2\",\"3\"]", json["rest"]!.ToJsonString());
        Assert.True(json["dedup"]!.GetValue<bool>());
        Assert.True(json["seq"]!.GetValue<bool>());
    }

    [Fact]
    public async Task Messages_SurviveServerRestart()
    {
        var data = Paths.NewTempDirectory("hayate-sqs");
        var first = await ServerProcess.StartAsync(data);
        try
        {
            await SqsAsync(first.Endpoint, """
                url = sqs.create_queue(QueueName='durable', Attributes={'VisibilityTimeout': '7'})['QueueUrl']
                sqs.send_message(QueueUrl=url, MessageBody='kept')
                print('{}')
                """);
        }
        finally
        {
            await first.KillAsync();
        }

        await using var second = await ServerProcess.StartAsync(data);
        var json = await SqsAsync(second.Endpoint, """
            url = sqs.get_queue_url(QueueName='durable')['QueueUrl']
            got = sqs.receive_message(QueueUrl=url)['Messages']
            vt = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['VisibilityTimeout'])['Attributes']['VisibilityTimeout']
            print(json.dumps({'body': got[0]['Body'], 'vt': vt}))
            """);
        Assert.Equal("kept", json["body"]!.GetValue<string>());
        Assert.Equal("7", json["vt"]!.GetValue<string>());
    }

    [Fact]
    public async Task ChangeMessageVisibility_ZeroShowsAtOnceAndLongerHides_BadHandlesAnswerSqsErrors()
    {
        var name = Names.New("cmv");
        var json = await SqsAsync(shared.Endpoint, $$$"""
            url = sqs.create_queue(QueueName='{{{name}}}')['QueueUrl']
            sqs.send_message(QueueUrl=url, MessageBody='m')
            first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)['Messages'][0]
            hidden = sqs.receive_message(QueueUrl=url).get('Messages', [])
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first['ReceiptHandle'], VisibilityTimeout=0)
            again = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1, AttributeNames=['ApproximateReceiveCount'])['Messages'][0]
            stale = qerr(lambda: sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first['ReceiptHandle'], VisibilityTimeout=0))
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again['ReceiptHandle'], VisibilityTimeout=30)
            t = time.time()
            extended = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3).get('Messages', [])
            waited = time.time() - t
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again['ReceiptHandle'], VisibilityTimeout=0)
            visible = qerr(lambda: sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=again['ReceiptHandle'], VisibilityTimeout=10))
            garbage = qerr(lambda: sqs.change_message_visibility(QueueUrl=url, ReceiptHandle='garbage', VisibilityTimeout=10))
            last = sqs.receive_message(QueueUrl=url)['Messages'][0]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=last['ReceiptHandle'])
            try:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=last['ReceiptHandle'], VisibilityTimeout=10)
                deleted = None
            except botocore.exceptions.ClientError as e:
                deleted = [type(e).__name__, e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'], e.response['Error']['Message']]
            print(json.dumps({'hidden': len(hidden), 'count': again['Attributes']['ApproximateReceiveCount'], 'stale': stale,
                'extended': len(extended), 'waited': waited, 'visible': visible, 'garbage': garbage, 'deleted': deleted}))
            """);
        Assert.Equal(0, json["hidden"]!.GetValue<int>());
        Assert.Equal("2", json["count"]!.GetValue<string>());
        Assert.Equal(0, json["extended"]!.GetValue<int>());
        Assert.InRange(json["waited"]!.GetValue<double>(), 2.5, 10);
        Assert.Equal("[\"MessageNotInflight\",\"AWS.SimpleQueueService.MessageNotInflight\",400]", json["visible"]!.ToJsonString());
        Assert.Equal("[\"ReceiptHandleIsInvalid\",\"ReceiptHandleIsInvalid\",400]", json["garbage"]!.ToJsonString());
        // A well-formed handle whose message is gone is not ReceiptHandleIsInvalid on SQS but InvalidParameterValue.
        Assert.Equal("[\"ClientError\",\"InvalidParameterValue\",400]", json["stale"]!.ToJsonString());
        Assert.Equal("InvalidParameterValue", json["deleted"]![1]!.GetValue<string>());
        Assert.EndsWith("Reason: Message does not exist or is not available for visibility timeout change.", json["deleted"]![3]!.GetValue<string>());
    }

    [Fact]
    public async Task ChangeMessageVisibilityBatch_PerEntryOutcomes_AndBatchRules()
    {
        var name = Names.New("cmvb");
        var json = await SqsAsync(shared.Endpoint, $$$"""
            url = sqs.create_queue(QueueName='{{{name}}}')['QueueUrl']
            sqs.send_message_batch(QueueUrl=url, Entries=[{'Id': str(i), 'MessageBody': 'm' + str(i)} for i in range(3)])
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)['Messages']
            by = {m['Body']: m['ReceiptHandle'] for m in got}
            result = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
                {'Id': 'show0', 'ReceiptHandle': by['m0'], 'VisibilityTimeout': 0},
                {'Id': 'show1', 'ReceiptHandle': by['m1'], 'VisibilityTimeout': 0},
                {'Id': 'keep2', 'ReceiptHandle': by['m2'], 'VisibilityTimeout': 60},
                {'Id': 'bad', 'ReceiptHandle': 'garbage', 'VisibilityTimeout': 0},
                {'Id': 'range', 'ReceiptHandle': by['m2'], 'VisibilityTimeout': 43201}])
            again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get('Messages', [])
            entry = {'ReceiptHandle': by['m2'], 'VisibilityTimeout': 0}
            many = qerr(lambda: sqs.change_message_visibility_batch(QueueUrl=url, Entries=[dict(entry, Id='e' + str(i)) for i in range(11)]))
            dup = qerr(lambda: sqs.change_message_visibility_batch(QueueUrl=url, Entries=[dict(entry, Id='a'), dict(entry, Id='a')]))
            empty = qerr(lambda: sqs.change_message_visibility_batch(QueueUrl=url, Entries=[]))
            missing = qerr(lambda: sqs.change_message_visibility_batch(QueueUrl=url + '-absent', Entries=[dict(entry, Id='a')]))
            still = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['ApproximateNumberOfMessagesNotVisible'])['Attributes']['ApproximateNumberOfMessagesNotVisible']
            print(json.dumps({'received': len(got), 'ok': sorted(s['Id'] for s in result['Successful']),
                'failed': sorted([f['Id'], f['Code'], f['SenderFault']] for f in result['Failed']),
                'again': sorted(m['Body'] for m in again), 'many': many, 'dup': dup, 'empty': empty, 'missing': missing, 'inflight': still}))
            """);
        Assert.Equal(3, json["received"]!.GetValue<int>());
        Assert.Equal("[\"keep2\",\"show0\",\"show1\"]", json["ok"]!.ToJsonString());
        Assert.Equal("[[\"bad\",\"ReceiptHandleIsInvalid\",true],[\"range\",\"InvalidParameterValue\",true]]", json["failed"]!.ToJsonString());
        Assert.Equal("[\"m0\",\"m1\"]", json["again"]!.ToJsonString());
        Assert.Equal("[\"TooManyEntriesInBatchRequest\",\"AWS.SimpleQueueService.TooManyEntriesInBatchRequest\",400]", json["many"]!.ToJsonString());
        Assert.Equal("[\"BatchEntryIdsNotDistinct\",\"AWS.SimpleQueueService.BatchEntryIdsNotDistinct\",400]", json["dup"]!.ToJsonString());
        Assert.Equal("[\"EmptyBatchRequest\",\"AWS.SimpleQueueService.EmptyBatchRequest\",400]", json["empty"]!.ToJsonString());
        Assert.Equal("QueueDoesNotExist", json["missing"]![0]!.GetValue<string>());
        // The failed batches changed nothing: m2 (kept for 60 s) and the m0, m1 just received are all in flight.
        Assert.Equal("3", json["inflight"]!.GetValue<string>());
    }

    [Fact]
    public async Task PurgeQueue_EmptiesTheQueue_AndRefusesASecondPurgeWithinAMinute()
    {
        var name = Names.New("purge");
        var json = await SqsAsync(shared.Endpoint, $$$"""
            url = sqs.create_queue(QueueName='{{{name}}}')['QueueUrl']
            sqs.send_message_batch(QueueUrl=url, Entries=[{'Id': str(i), 'MessageBody': str(i)} for i in range(5)])
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)
            sqs.purge_queue(QueueUrl=url)
            a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['All'])['Attributes']
            out = {'left': [a['ApproximateNumberOfMessages'], a['ApproximateNumberOfMessagesNotVisible']]}
            out['again'] = qerr(lambda: sqs.purge_queue(QueueUrl=url))
            sqs.send_message(QueueUrl=url, MessageBody='after')
            out['after'] = [m['Body'] for m in sqs.receive_message(QueueUrl=url)['Messages']]
            out['missing'] = qerr(lambda: sqs.purge_queue(QueueUrl=url + '-missing'))
            print(json.dumps(out))
            """);
        Assert.Equal("""["0","0"]""", json["left"]!.ToJsonString());
        Assert.Equal("""["PurgeQueueInProgress","AWS.SimpleQueueService.PurgeQueueInProgress",400]""", json["again"]!.ToJsonString());
        Assert.Equal("""["after"]""", json["after"]!.ToJsonString());
        Assert.Equal("AWS.SimpleQueueService.NonExistentQueue", json["missing"]![1]!.GetValue<string>());
    }

    [Fact]
    public async Task ListQueues_PagesWithNextToken_AndFiltersByPrefix()
    {
        var prefix = Names.New("lq");
        var json = await SqsAsync(shared.Endpoint, $$$"""
            names = [f'{{{prefix}}}-{i}' for i in range(7)]
            for n in names:
                sqs.create_queue(QueueName=n)
            sqs.create_queue(QueueName='other-{{{prefix}}}')
            first = sqs.list_queues(QueueNamePrefix='{{{prefix}}}', MaxResults=3)
            paged = []
            for page in sqs.get_paginator('list_queues').paginate(QueueNamePrefix='{{{prefix}}}', PaginationConfig={'PageSize': 3}):
                paged += page.get('QueueUrls', [])
            print(json.dumps({'first': len(first['QueueUrls']), 'token': 'NextToken' in first,
                'paged': [u.rsplit('/', 1)[1] for u in paged], 'expected': names,
                'bad_max': qerr(lambda: sqs.list_queues(MaxResults=1001)),
                'unpaged': len(sqs.list_queues(QueueNamePrefix='{{{prefix}}}').get('QueueUrls', []))}))
            """);
        Assert.Equal(3, json["first"]!.GetValue<int>());
        Assert.True(json["token"]!.GetValue<bool>());
        Assert.Equal(json["expected"]!.ToJsonString(), json["paged"]!.ToJsonString());
        Assert.Equal(7, json["unpaged"]!.GetValue<int>());
        Assert.Equal("InvalidParameterValue", json["bad_max"]![1]!.GetValue<string>());
    }

    [Fact]
    public async Task Tags_SetOnCreateChangedAndRemoved_AreKeptWithTheQueue()
    {
        var name = Names.New("tags");
        var json = await SqsAsync(shared.Endpoint, $$$"""
            url = sqs.create_queue(QueueName='{{{name}}}', tags={'team': 'core', 'env': 'test'})['QueueUrl']
            out = {'created': sqs.list_queue_tags(QueueUrl=url)['Tags']}
            sqs.tag_queue(QueueUrl=url, Tags={'env': 'prod', 'cost': '42'})
            out['tagged'] = sqs.list_queue_tags(QueueUrl=url)['Tags']
            sqs.untag_queue(QueueUrl=url, TagKeys=['team', 'absent'])
            out['untagged'] = sqs.list_queue_tags(QueueUrl=url)['Tags']
            out['too_many'] = qerr(lambda: sqs.tag_queue(QueueUrl=url, Tags={f'k{i}': 'v' for i in range(49)}))
            out['reserved'] = qerr(lambda: sqs.tag_queue(QueueUrl=url, Tags={'aws:owner': 'me'}))
            out['bad_create'] = qerr(lambda: sqs.create_queue(QueueName='{{{name}}}-bad', tags={'k' * 129: 'v'}))
            out['bad_created'] = qerr(lambda: sqs.get_queue_url(QueueName='{{{name}}}-bad'))
            out['unchanged'] = sqs.list_queue_tags(QueueUrl=url)['Tags']
            out['missing'] = qerr(lambda: sqs.list_queue_tags(QueueUrl=url + '-missing'))
            sqs.delete_queue(QueueUrl=url)
            url = sqs.create_queue(QueueName='{{{name}}}')['QueueUrl']
            out['recreated'] = sqs.list_queue_tags(QueueUrl=url).get('Tags', {})
            print(json.dumps(out, sort_keys=True))
            """);
        Assert.Equal("""{"env":"test","team":"core"}""", json["created"]!.ToJsonString());
        Assert.Equal("""{"cost":"42","env":"prod","team":"core"}""", json["tagged"]!.ToJsonString());
        Assert.Equal("""{"cost":"42","env":"prod"}""", json["untagged"]!.ToJsonString());
        Assert.Equal("InvalidParameterValue", json["too_many"]![1]!.GetValue<string>());
        Assert.Equal("InvalidParameterValue", json["reserved"]![1]!.GetValue<string>());
        Assert.Equal("InvalidParameterValue", json["bad_create"]![1]!.GetValue<string>());
        Assert.Equal("AWS.SimpleQueueService.NonExistentQueue", json["bad_created"]![1]!.GetValue<string>());
        Assert.Equal("""{"cost":"42","env":"prod"}""", json["unchanged"]!.ToJsonString());
        Assert.Equal("AWS.SimpleQueueService.NonExistentQueue", json["missing"]![1]!.GetValue<string>());
        Assert.Equal("{}", json["recreated"]!.ToJsonString());

        var cli = await Clients.AwsAsync(shared.Endpoint, "sqs", "list-queue-tags", "--queue-url", $"{shared.Endpoint}/000000000000/{name}");
        Assert.True(cli.ExitCode == 0, cli.Stderr);
    }
}
