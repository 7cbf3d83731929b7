using Hayate.Kernel.Accounts;
using Hayate.Kernel.Storage;
using Hayate.Testing;
using Microsoft.Data.Sqlite;

namespace Hayate.Sqs.Tests;

/// <summary>The queue service's clock-driven rules (retention, redrive expiry, the purge interval) over a real SQLite file, without sleeping.</summary>
public sealed class QueueServiceTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hayate-queues-" + Guid.NewGuid().ToString("N"));
    private readonly ManualClock _clock = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private QueueService _queues = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        var database = new SqliteDatabase(Path.Combine(_directory, "hayate.db"));
        await database.MigrateAsync([SqsSchema.Schema], Token);
        _queues = new QueueService(new SqliteQueueStore(database), new AccountOptions(), _clock);
    }

    public ValueTask DisposeAsync()
    {
        _queues.Dispose();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    private async Task CreateAsync(string name, Dictionary<string, string>? attributes = null)
    {
        var created = await _queues.CreateQueueAsync(name, attributes, Token);
        Assert.True(created.Ok, created.Error?.Message);
    }

    private async Task SendAsync(string queue, string body)
    {
        var sent = await _queues.SendAsync(queue, new QueueSendRequest { Body = body }, Token);
        Assert.True(sent.Ok, sent.Error?.Message);
    }

    private async Task<List<string>> ReceiveBodiesAsync(string queue, int? visibility = null)
    {
        var received = await _queues.ReceiveAsync(queue, new QueueReceiveOptions { MaxMessages = 10, VisibilityTimeoutSeconds = visibility, WaitTimeSeconds = 0 }, Token);
        Assert.True(received.Ok, received.Error?.Message);
        return received.Value.Select(m => m.Body).ToList();
    }

    private async Task<string> AttributeAsync(string queue, string name)
    {
        var attributes = await _queues.GetAttributesAsync(queue, [name], Token);
        Assert.True(attributes.Ok, attributes.Error?.Message);
        return attributes.Value[name];
    }

    [Fact]
    public async Task SetAttributes_RetentionChanged_AppliesToMessagesAlreadyQueued()
    {
        // SetQueueAttributes: a changed MessageRetentionPeriod "will impact existing messages in the queue".
        await CreateAsync("shrunk");
        await SendAsync("shrunk", "two minutes old");
        _clock.Advance(TimeSpan.FromSeconds(120));
        Assert.True((await _queues.SetAttributesAsync("shrunk", new Dictionary<string, string> { ["MessageRetentionPeriod"] = "60" }, Token)).Ok);
        Assert.Empty(await ReceiveBodiesAsync("shrunk"));

        await CreateAsync("grown", new() { ["MessageRetentionPeriod"] = "60" });
        await SendAsync("grown", "kept longer");
        Assert.True((await _queues.SetAttributesAsync("grown", new Dictionary<string, string> { ["MessageRetentionPeriod"] = "120" }, Token)).Ok);
        _clock.Advance(TimeSpan.FromSeconds(90));
        Assert.Equal(["kept longer"], await ReceiveBodiesAsync("grown"));
    }

    [Fact]
    public async Task Redrive_MovedMessage_ExpiresByDeadLetterRetentionFromItsOriginalSendTime()
    {
        await CreateAsync("dlq", new() { ["MessageRetentionPeriod"] = "60" });
        var policy = $$"""{"deadLetterTargetArn": "{{_queues.ArnOf("dlq")}}", "maxReceiveCount": 1}""";
        await CreateAsync("source", new() { ["RedrivePolicy"] = policy });
        await SendAsync("source", "poison");
        _clock.Advance(TimeSpan.FromSeconds(50));

        Assert.Equal(["poison"], await ReceiveBodiesAsync("source", visibility: 0));
        Assert.Empty(await ReceiveBodiesAsync("source"));
        Assert.Equal("1", await AttributeAsync("dlq", "ApproximateNumberOfMessages"));

        // 61 s after it was first sent: past the dead-letter queue's 60 s, though it arrived there only 11 s ago.
        _clock.Advance(TimeSpan.FromSeconds(11));
        Assert.Empty(await ReceiveBodiesAsync("dlq"));
    }

    [Fact]
    public async Task Purge_TwiceWithin60Seconds_SecondIsPurgeQueueInProgressUntilTheMinuteIsOver()
    {
        await CreateAsync("purged");
        await CreateAsync("other");
        await SendAsync("purged", "a");
        Assert.True((await _queues.PurgeAsync("purged", Token)).Ok);
        Assert.Empty(await ReceiveBodiesAsync("purged"));

        _clock.Advance(TimeSpan.FromSeconds(59));
        var again = await _queues.PurgeAsync("purged", Token);
        Assert.Equal("PurgeQueueInProgress", again.Error?.Type);
        Assert.Equal("Only one PurgeQueue operation on purged is allowed every 60 seconds.", again.Error?.Message);
        Assert.True((await _queues.PurgeAsync("other", Token)).Ok);

        _clock.Advance(TimeSpan.FromSeconds(1));
        await SendAsync("purged", "b");
        Assert.True((await _queues.PurgeAsync("purged", Token)).Ok);
        Assert.Empty(await ReceiveBodiesAsync("purged"));
    }
}
