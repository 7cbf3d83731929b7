using Hayate.Kernel.Accounts;
using Hayate.Kernel.Storage;
using Hayate.Testing;

namespace Hayate.Sqs.Tests;

/// <summary>What time takes away: expired messages. Real SQLite, a clock the test moves.</summary>
public sealed class RetentionTests : IAsyncLifetime, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hayate-retention-" + Guid.NewGuid().ToString("N"));
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private SqliteDatabase _database = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _database = new SqliteDatabase(Path.Combine(_directory, "hayate.db"));
        await _database.MigrateAsync([SqsSchema.Schema], CancellationToken.None);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Queue_MessagesOlderThanTheRetentionPeriod_AreGone_YoungerOnesStay()
    {
        using var queues = new QueueService(new SqliteQueueStore(_database), new AccountOptions(), _clock);
        var created = await queues.CreateQueueAsync("short", new Dictionary<string, string> { ["MessageRetentionPeriod"] = "60" }, CancellationToken.None);
        Assert.True(created.Ok);
        Assert.True((await queues.SendAsync("short", "old")).Ok);
        _clock.Advance(TimeSpan.FromSeconds(45));
        Assert.True((await queues.SendAsync("short", "young")).Ok);

        _clock.Advance(TimeSpan.FromSeconds(20));
        var received = await queues.ReceiveAsync("short", new QueueReceiveOptions { MaxMessages = 10 });
        Assert.True(received.Ok);
        Assert.Equal(["young"], received.Value.Select(m => m.Body));

        _clock.Advance(TimeSpan.FromSeconds(60));
        var counts = await queues.GetAttributesAsync("short", ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"], CancellationToken.None);
        Assert.Equal("0", counts.Value!["ApproximateNumberOfMessages"]);
        Assert.Equal("0", counts.Value!["ApproximateNumberOfMessagesNotVisible"]);
    }
}
