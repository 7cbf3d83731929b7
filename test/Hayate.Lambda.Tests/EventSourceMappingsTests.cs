using Hayate.Lambda.EventSources;
using Hayate.Sqs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Hayate.Lambda.Tests;

/// <summary>Event source mappings settle their state even when the store fails for a while, and say so.</summary>
public sealed class EventSourceMappingsTests
{
    [Fact]
    public async Task Create_StoreFailsToRecordTheSettledState_LogsItAndSettlesOnALaterTry()
    {
        var failing = new FailingUpdates(failures: 2);
        await using var host = await LambdaHost.StartAsync(services => services.Replace(ServiceDescriptor.Singleton<IEventSourceMappingStore>(sp =>
        {
            failing.Inner = ActivatorUtilities.CreateInstance<SqliteEventSourceMappingStore>(sp);
            return failing;
        })));
        Assert.True((await host.Get<QueueService>().CreateQueueAsync("source", new Dictionary<string, string> { ["VisibilityTimeout"] = "30" }, CancellationToken.None)).Ok);
        await host.CreateFunctionAsync("consumer");
        var mappings = host.Get<EventSourceMappings>();
        // Its start-up pass (settling what a restart left in transition) is over: only this test's change settles.
        await mappings.ExecuteTask!;

        var created = await mappings.CreateAsync("arn:aws:sqs:us-east-1:000000000000:source", "consumer", new EventSourceSettings { Enabled = false }, CancellationToken.None);
        Assert.Equal("Creating", created.Value!.State);
        await LambdaHost.WaitUntilAsync(() => host.Logs.Entries.Any(e => e.Level == LogLevel.Warning && e.Message.Contains(created.Value.Uuid, StringComparison.Ordinal)),
            "the failed write of the settled state is logged");
        Assert.Equal(1, failing.Attempts);

        host.Clock.Advance(TimeSpan.FromSeconds(1));
        await LambdaHost.WaitUntilAsync(() => failing.Attempts == 2, "it tries again after a second");
        host.Clock.Advance(TimeSpan.FromSeconds(2));
        await LambdaHost.WaitUntilAsync(() => failing.Attempts == 3, "and again after two more");

        Assert.Equal("Disabled", (await failing.Inner!.GetAsync(created.Value.Uuid, CancellationToken.None))!.State);
    }

    /// <summary>The real store, whose first updates fail as a full disk or a locked file would make them.</summary>
    private sealed class FailingUpdates(int failures) : IEventSourceMappingStore
    {
        private int _attempts;

        public SqliteEventSourceMappingStore? Inner { get; set; }

        public int Attempts => Volatile.Read(ref _attempts);

        public Task<bool> UpdateAsync(EventSourceMapping mapping, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _attempts) <= failures
                ? throw new IOException("disk I/O error")
                : Inner!.UpdateAsync(mapping, cancellationToken);

        public Task CreateAsync(EventSourceMapping mapping, IReadOnlyDictionary<string, string?> checkpoints, CancellationToken cancellationToken) =>
            Inner!.CreateAsync(mapping, checkpoints, cancellationToken);

        public Task<EventSourceMapping?> GetAsync(string uuid, CancellationToken cancellationToken) => Inner!.GetAsync(uuid, cancellationToken);

        public Task<IReadOnlyList<EventSourceMapping>> ListAsync(CancellationToken cancellationToken) => Inner!.ListAsync(cancellationToken);

        public Task<bool> DeleteAsync(string uuid, CancellationToken cancellationToken) => Inner!.DeleteAsync(uuid, cancellationToken);

        public Task<IReadOnlyDictionary<string, string?>> CheckpointsAsync(string uuid, CancellationToken cancellationToken) => Inner!.CheckpointsAsync(uuid, cancellationToken);

        public Task SetCheckpointAsync(string uuid, string shardId, string? afterSequence, CancellationToken cancellationToken) =>
            Inner!.SetCheckpointAsync(uuid, shardId, afterSequence, cancellationToken);
    }
}
