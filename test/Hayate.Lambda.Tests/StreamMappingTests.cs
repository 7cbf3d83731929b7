using System.Text;
using System.Text.Json.Nodes;
using Hayate.Kinesis;
using Hayate.Lambda.EventSources;
using Hayate.Sqs;

namespace Hayate.Lambda.Tests;

/// <summary>Kinesis event source mappings on a clock the test moves: what takes Lambda minutes takes no time here.</summary>
public sealed class StreamMappingTests
{
    private static readonly string Poison = Convert.ToBase64String("poison"u8);

    [Fact]
    public async Task RecordsOlderThanMaximumRecordAge_AreReportedToOnFailureWhole_AndTheShardMovesOn()
    {
        await using var host = await LambdaHost.StartAsync();
        // The function fails any batch that holds the poison record.
        host.Sandboxes.Answer(invocation => Encoding.UTF8.GetString(invocation.Payload.Span).Contains(Poison, StringComparison.Ordinal)
            ? StandInSandboxes.Fail(invocation)
            : StandInSandboxes.Succeed(invocation));
        await host.CreateFunctionAsync("reader");
        var streams = host.Get<StreamService>();
        var queues = host.Get<QueueService>();
        Assert.True((await streams.CreateAsync("aged", 1, null, CancellationToken.None)).Ok);
        Assert.True((await queues.CreateQueueAsync("failures", null, CancellationToken.None)).Ok);
        var put = await streams.PutAsync("aged", [Record("a0"), Record("poison"), Record("a2")], CancellationToken.None);
        var sequences = put.Value!.Select(r => r.SequenceNumber).ToList();
        var mappings = host.Get<EventSourceMappings>();
        await mappings.ExecuteTask!;

        var created = await mappings.CreateAsync(streams.ArnOf("aged"), "reader", new EventSourceSettings
        {
            StartingPosition = "TRIM_HORIZON",
            MaximumRecordAgeInSeconds = 60,
            OnFailure = "arn:aws:sqs:us-east-1:000000000000:failures",
        }, CancellationToken.None);
        Assert.True(created.Ok, created.Error?.Message);

        // The runner retries the batch, with growing pauses, until its oldest record is a minute old.
        var reported = await AdvanceUntilAsync(host, TimeSpan.FromSeconds(1), async () =>
            (await queues.ReceiveAsync("failures", new QueueReceiveOptions { MaxMessages = 1 })).Value is [var message] ? message : null);
        var record = JsonNode.Parse(reported.Body)!;
        Assert.Equal("RecordAgeExceeded", record["requestContext"]!["condition"]!.GetValue<string>());
        var info = record["KinesisBatchInfo"]!;
        Assert.Equal(sequences[0], info["startSequenceNumber"]!.GetValue<string>());
        Assert.Equal(sequences[2], info["endSequenceNumber"]!.GetValue<string>());
        Assert.Equal(3, info["batchSize"]!.GetValue<int>());
        var attempts = host.Sandboxes.Calls.Count;
        Assert.True(attempts >= 2, $"the batch ran {attempts} time(s) before it was given up");

        // Given up as a whole: what comes after it is read, and the aged records are not read again.
        await streams.PutAsync("aged", [Record("b0")], CancellationToken.None);
        var next = await AdvanceUntilAsync(host, TimeSpan.FromMilliseconds(100), () =>
            Task.FromResult(host.Sandboxes.Calls.Skip(attempts).Select(c => Encoding.UTF8.GetString(c.Invocation.Payload.Span)).FirstOrDefault()));
        Assert.Contains(Convert.ToBase64String("b0"u8), next, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String("a0"u8), next, StringComparison.Ordinal);
    }

    private static StreamPut Record(string data) => new(Encoding.UTF8.GetBytes(data), "one", null);

    /// <summary>Moves the clock a step at a time, letting the runner work in between, until <paramref name="found"/> finds something.</summary>
    private static async Task<T> AdvanceUntilAsync<T>(LambdaHost host, TimeSpan step, Func<Task<T?>> found)
        where T : class
    {
        for (var i = 0; i < 600; i++)
        {
            if (await found() is { } value)
            {
                return value;
            }

            host.Clock.Advance(step);
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        throw new TimeoutException("nothing happened after 600 steps of the clock");
    }
}
