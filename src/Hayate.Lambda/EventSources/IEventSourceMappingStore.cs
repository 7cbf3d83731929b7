
namespace Hayate.Lambda.EventSources;

/// <summary>
/// Event source mappings and, for streams, each shard's checkpoint: the sequence number after which
/// reading resumes (null: from the oldest record the stream still holds).
/// </summary>
public interface IEventSourceMappingStore
{
    /// <summary>Stores a new mapping with its shards' starting checkpoints, in one transaction.</summary>
    Task CreateAsync(EventSourceMapping mapping, IReadOnlyDictionary<string, string?> checkpoints, CancellationToken cancellationToken);

    Task<EventSourceMapping?> GetAsync(string uuid, CancellationToken cancellationToken);

    Task<IReadOnlyList<EventSourceMapping>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Replaces a mapping; false when it no longer exists.</summary>
    Task<bool> UpdateAsync(EventSourceMapping mapping, CancellationToken cancellationToken);

    /// <summary>Removes a mapping and its checkpoints; false when it did not exist.</summary>
    Task<bool> DeleteAsync(string uuid, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<string, string?>> CheckpointsAsync(string uuid, CancellationToken cancellationToken);

    /// <summary>Records that a shard was processed up to and including <paramref name="afterSequence"/>.</summary>
    Task SetCheckpointAsync(string uuid, string shardId, string? afterSequence, CancellationToken cancellationToken);
}
