using Hayate.Kernel.Accounts;
using Hayate.Kernel.Storage;
using Hayate.Testing;

namespace Hayate.Kinesis.Tests;

/// <summary>What time takes away: expired records, stale shard iterators. Real SQLite, a clock the test moves.</summary>
public sealed class RetentionTests : IAsyncLifetime, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hayate-retention-" + Guid.NewGuid().ToString("N"));
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero));
    private SqliteDatabase _database = null!;

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _database = new SqliteDatabase(Path.Combine(_directory, "hayate.db"));
        await _database.MigrateAsync([KinesisSchema.Schema], CancellationToken.None);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public async Task Stream_RecordsOlderThan24Hours_AreNotRead_AndIteratorsExpireAfterFiveMinutes()
    {
        var streams = new StreamService(new SqliteStreamStore(_database), new AccountOptions(), _clock);
        Assert.True((await streams.CreateAsync("s", 1, null, CancellationToken.None)).Ok);
        Assert.True((await streams.PutAsync("s", [new StreamPut("old"u8.ToArray(), "k", null)], CancellationToken.None)).Ok);
        _clock.Advance(TimeSpan.FromHours(23));
        Assert.True((await streams.PutAsync("s", [new StreamPut("young"u8.ToArray(), "k", null)], CancellationToken.None)).Ok);

        var iterator = await streams.GetShardIteratorAsync("s", "shardId-000000000000", "TRIM_HORIZON", null, null, CancellationToken.None);
        Assert.True(iterator.Ok);
        _clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var expired = await streams.GetRecordsAsync(iterator.Value, 100, CancellationToken.None);
        Assert.Equal("ExpiredIteratorException", expired.Error?.Type);

        var fresh = await streams.GetShardIteratorAsync("s", "shardId-000000000000", "TRIM_HORIZON", null, null, CancellationToken.None);
        var read = await streams.GetRecordsAsync(fresh.Value!, 100, CancellationToken.None);
        Assert.True(read.Ok);
        Assert.Equal(["young"], read.Value.Records.Select(r => System.Text.Encoding.UTF8.GetString(r.Data)));

        // The mapping's reader sees the same stream.
        var mapped = await streams.ReadAsync("s", "shardId-000000000000", null, 100, CancellationToken.None);
        Assert.Single(mapped.Value!);
    }
}
