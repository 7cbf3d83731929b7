namespace Hayate.Kinesis;

/// <summary>
/// A stream as stored: its name, when it was created (Unix milliseconds), how long records are kept,
/// its mode (PROVISIONED or ON_DEMAND) and how many shards it has. Shard <c>i</c> owns the i-th equal
/// slice of the 128-bit hash-key space.
/// </summary>
public sealed record StoredStream(string Name, long CreatedAt, int RetentionHours, string Mode, int ShardCount)
{
    /// <summary>
    /// Where the shards' numbering starts: after the creation time in microseconds, so that a stream
    /// deleted and created again numbers past everything the old one handed out (a reader's old
    /// position then means "from the start" rather than skipping records).
    /// </summary>
    public long SequenceBase => CreatedAt * 1000;
}

/// <summary>A record as stored: its shard, its per-shard sequence (1, 2, …), partition key, data and arrival (Unix milliseconds).</summary>
public sealed record StoredStreamRecord(int Shard, long Sequence, string PartitionKey, byte[] Data, long ArrivedAt);

/// <summary>A record to append: the shard chosen for it, its partition key and its data.</summary>
public sealed record StreamAppend(int Shard, string PartitionKey, byte[] Data);

/// <summary>Durable streams and records for the built-in Kinesis-compatible stream service.</summary>
public interface IStreamStore
{
    Task<bool> TryCreateStreamAsync(StoredStream stream, CancellationToken cancellationToken);

    Task<StoredStream?> GetStreamAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<StoredStream>> ListStreamsAsync(string? afterName, int limit, CancellationToken cancellationToken);

    Task<bool> DeleteStreamAsync(string name, CancellationToken cancellationToken);

    /// <summary>
    /// Appends the records in one transaction, each after the last of its shard, arriving at
    /// <paramref name="arrivedAt"/> or, if the shard's last record is later, at that record's time (so
    /// arrival never goes back within a shard). Returns each one's sequence, in order; null when the
    /// stream is gone.
    /// </summary>
    Task<IReadOnlyList<long>?> AppendAsync(string stream, IReadOnlyList<StreamAppend> records, long arrivedAt, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="limit"/> records of a shard after <paramref name="afterSequence"/> that arrived at or
    /// after <paramref name="notBefore"/>, in order, stopping before the data would pass <paramref name="maxBytes"/>
    /// (but always at least one record).
    /// </summary>
    Task<IReadOnlyList<StoredStreamRecord>> ReadAsync(string stream, int shard, long afterSequence, long notBefore, int limit, long maxBytes, CancellationToken cancellationToken);

    /// <summary>The sequence of the newest record ever appended to a shard (the stream's base when none).</summary>
    Task<long> LatestSequenceAsync(string stream, int shard, CancellationToken cancellationToken);

    /// <summary>The sequence of the newest record of a shard that arrived before <paramref name="arrivedBefore"/> (0 when none).</summary>
    Task<long> SequenceBeforeAsync(string stream, int shard, long arrivedBefore, CancellationToken cancellationToken);

    /// <summary>Deletes the stream's records that arrived before <paramref name="arrivedBefore"/>.</summary>
    Task TrimAsync(string stream, long arrivedBefore, CancellationToken cancellationToken);
}
