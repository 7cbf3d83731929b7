using System.Text;
using System.Text.Json.Nodes;
using Hayate.IntegrationTests.Infrastructure;

namespace Hayate.IntegrationTests;

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
}
