using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Hayate.Bench;

/// <summary>One put cell: a JSON-protocol write (SendMessage, PutRecord) at one concurrency.</summary>
internal sealed record PutCell(string Label, int Concurrency, int Requests, int Errors, TimeSpan Elapsed, Stats Latency)
{
    public double PerSecond => Requests / Elapsed.TotalSeconds;
}

/// <summary>A backlog run by an event source mapping: how many, and how long from the mapping's creation until all had run.</summary>
internal sealed record Delivery(string Label, int Count, TimeSpan Elapsed)
{
    public double PerSecond => Count / Elapsed.TotalSeconds;
}

/// <summary>The event-sources section: writes to the built-in queue and stream, and mappings draining a backlog into a function.</summary>
internal sealed record SourcesResult(List<PutCell> Puts, List<Delivery> Deliveries);

/// <summary>
/// Section `sources`: SendMessage and PutRecord rates (each answered after its SQLite commit), and how
/// fast an SQS and a Kinesis event source mapping drain a backlog into a python function.
/// </summary>
internal sealed class SourcesBench(HttpClient http, Uri endpoint, LambdaClient lambda, Action<string> progress)
{
    private const string CountingHandler = "import json\ndef handler(event, context):\n    print('RECORDS %d' % len(event['Records']))\n";

    public async Task<SourcesResult> RunAsync(BenchOptions options)
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var queue = $"bench-queue-{suffix}";
        var stream = $"bench-stream-{suffix}";
        var queueUrl = (await CallAsync("AmazonSQS.CreateQueue", "1.0", new JsonObject { ["QueueName"] = queue }))!["QueueUrl"]!.GetValue<string>();
        await CallAsync("Kinesis_20131202.CreateStream", "1.1", new JsonObject { ["StreamName"] = stream, ["ShardCount"] = 2 });

        var puts = new List<PutCell>();
        var data = Convert.ToBase64String(new byte[100]);
        foreach (var concurrency in new[] { 1, 32 })
        {
            var send = await LoopAsync("SQS SendMessage (100-character body)", concurrency, options.Duration, i =>
                ("AmazonSQS.SendMessage", "1.0", new JsonObject { ["QueueUrl"] = queueUrl, ["MessageBody"] = new string('m', 96) + i.ToString("D4", CultureInfo.InvariantCulture)[^4..] }));
            var put = await LoopAsync("Kinesis PutRecord (100-byte record)", concurrency, options.Duration, i =>
                ("Kinesis_20131202.PutRecord", "1.1", new JsonObject { ["StreamName"] = stream, ["Data"] = data, ["PartitionKey"] = "k" + i.ToString(CultureInfo.InvariantCulture) }));
            puts.Add(send);
            puts.Add(put);
        }

        // The backlogs start clean: what the put cells wrote goes first.
        await CallAsync("AmazonSQS.PurgeQueue", "1.0", new JsonObject { ["QueueUrl"] = queueUrl });
        await CallAsync("Kinesis_20131202.DeleteStream", "1.1", new JsonObject { ["StreamName"] = stream });
        await CallAsync("Kinesis_20131202.CreateStream", "1.1", new JsonObject { ["StreamName"] = stream, ["ShardCount"] = 2 });

        var backlog = options.Quick ? 1000 : 5000;
        var deliveries = new List<Delivery>
        {
            await SqsDeliveryAsync(queue, queueUrl, backlog),
            await StreamDeliveryAsync(stream, backlog),
        };
        return new SourcesResult(puts, deliveries);
    }

    private async Task<Delivery> SqsDeliveryAsync(string queue, string queueUrl, int backlog)
    {
        progress($"sources: {backlog} messages queued, then an SQS mapping (BatchSize 10) drains them");
        for (var sent = 0; sent < backlog; sent += 10)
        {
            var entries = new JsonArray();
            for (var i = 0; i < 10; i++)
            {
                entries.Add(new JsonObject { ["Id"] = $"m{i}", ["MessageBody"] = $"message {sent + i}" });
            }

            await CallAsync("AmazonSQS.SendMessageBatch", "1.0", new JsonObject { ["QueueUrl"] = queueUrl, ["Entries"] = entries });
        }

        var function = $"{queue}-fn";
        await lambda.CreateFunctionAsync(function, "python3.12", "app.handler", Packages.Zip(("app.py", CountingHandler)));
        var started = Stopwatch.GetTimestamp();
        await lambda.CallAsync(HttpMethod.Post, "2015-03-31/event-source-mappings", new JsonObject
        {
            ["FunctionName"] = function,
            ["EventSourceArn"] = $"arn:aws:sqs:us-east-1:000000000000:{queue}",
            ["BatchSize"] = 10,
        }, 202);
        while (true)
        {
            var attributes = (await CallAsync("AmazonSQS.GetQueueAttributes", "1.0", new JsonObject { ["QueueUrl"] = queueUrl, ["AttributeNames"] = new JsonArray("All") }))!["Attributes"]!;
            if (attributes["ApproximateNumberOfMessages"]!.GetValue<string>() == "0" && attributes["ApproximateNumberOfMessagesNotVisible"]!.GetValue<string>() == "0")
            {
                break;
            }

            await Deadline(started, "the SQS backlog");
        }

        var delivery = new Delivery("SQS queue → function (BatchSize 10, messages deleted after each batch)", backlog, Stopwatch.GetElapsedTime(started));
        progress($"  {delivery.Count} messages run and deleted in {delivery.Elapsed.TotalSeconds:0.00} s: {delivery.PerSecond:0}/s");
        return delivery;
    }

    private async Task<Delivery> StreamDeliveryAsync(string stream, int backlog)
    {
        progress($"sources: {backlog} records put to a 2-shard stream, then a Kinesis mapping (BatchSize 100, TRIM_HORIZON) reads them");
        for (var put = 0; put < backlog; put += 500)
        {
            var records = new JsonArray();
            for (var i = 0; i < 500; i++)
            {
                records.Add(new JsonObject { ["Data"] = Convert.ToBase64String(new byte[100]), ["PartitionKey"] = $"k{put + i}" });
            }

            await CallAsync("Kinesis_20131202.PutRecords", "1.1", new JsonObject { ["StreamName"] = stream, ["Records"] = records });
        }

        var function = $"{stream}-fn";
        await lambda.CreateFunctionAsync(function, "python3.12", "app.handler", Packages.Zip(("app.py", CountingHandler)));
        var started = Stopwatch.GetTimestamp();
        await lambda.CallAsync(HttpMethod.Post, "2015-03-31/event-source-mappings", new JsonObject
        {
            ["FunctionName"] = function,
            ["EventSourceArn"] = $"arn:aws:kinesis:us-east-1:000000000000:stream/{stream}",
            ["StartingPosition"] = "TRIM_HORIZON",
            ["BatchSize"] = 100,
        }, 202);
        var counted = 0;
        var after = 0L;
        while (counted < backlog)
        {
            var page = JsonNode.Parse(await http.GetStringAsync(new Uri(endpoint, $"_hayate/logs/{function}?after={after}")))!;
            foreach (var message in page["events"]!.AsArray().Select(e => e!["message"]!.GetValue<string>()))
            {
                if (message.StartsWith("RECORDS ", StringComparison.Ordinal))
                {
                    counted += int.Parse(message.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
                }
            }

            after = page["nextToken"]?.GetValue<long>() ?? after;
            if (counted < backlog)
            {
                await Deadline(started, "the stream backlog");
            }
        }

        var delivery = new Delivery("Kinesis stream, 2 shards → function (BatchSize 100, checkpoint after each batch)", backlog, Stopwatch.GetElapsedTime(started));
        progress($"  {delivery.Count} records run in {delivery.Elapsed.TotalSeconds:0.00} s: {delivery.PerSecond:0}/s");
        return delivery;
    }

    private static async Task Deadline(long started, string what)
    {
        if (Stopwatch.GetElapsedTime(started) > TimeSpan.FromMinutes(5))
        {
            throw new TimeoutException($"{what} was not drained within 5 minutes");
        }

        await Task.Delay(50);
    }

    /// <summary>Sends requests from <paramref name="concurrency"/> loops for <paramref name="duration"/>, each timed.</summary>
    private async Task<PutCell> LoopAsync(string label, int concurrency, TimeSpan duration, Func<int, (string Target, string Version, JsonObject Body)> request)
    {
        var next = 0;
        var errors = 0;
        var samples = new System.Collections.Concurrent.ConcurrentBag<double>();
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (Stopwatch.GetElapsedTime(started) < duration)
            {
                var (target, version, body) = request(Interlocked.Increment(ref next));
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    await CallAsync(target, version, body);
                    samples.Add(Stopwatch.GetElapsedTime(sent).TotalMilliseconds);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        })));
        var cell = new PutCell(label, concurrency, samples.Count, errors, Stopwatch.GetElapsedTime(started), new Stats(samples));
        progress($"  {label}, c={concurrency}: {cell.PerSecond:0}/s, p50 {Stats.Ms(cell.Latency.P50)} ms, p99 {Stats.Ms(cell.Latency.P99)} ms");
        return cell;
    }

    /// <summary>One JSON-protocol call (X-Amz-Target); fails with the server's answer unless it is a 200.</summary>
    private async Task<JsonNode?> CallAsync(string target, string version, JsonObject body)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-" + version);
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = content };
        request.Headers.Add("X-Amz-Target", target);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{target} answered {(int)response.StatusCode}: {text}");
        }

        return text.Length == 0 ? null : JsonNode.Parse(text);
    }
}
