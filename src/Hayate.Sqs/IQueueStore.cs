namespace Hayate.Sqs;

/// <summary>A queue as stored: its name, creation and change times (Unix seconds) and its attributes as a JSON object.</summary>
public sealed record StoredQueue(string Name, long CreatedAt, long ModifiedAt, string Attributes);

/// <summary>A message as stored. Times are Unix milliseconds; attributes are opaque JSON written by the queue service.</summary>
public sealed record StoredMessage
{
    public long Id { get; init; }
    public required string MessageId { get; init; }
    public required string Body { get; init; }
    public required string Attributes { get; init; }
    public required string Md5OfBody { get; init; }
    public string? Md5OfAttributes { get; init; }
    public long SentAt { get; init; }
    public long VisibleAt { get; init; }
    public long ExpiresAt { get; init; }
    public int ReceiveCount { get; init; }
    public long? FirstReceivedAt { get; init; }
    public string? Receipt { get; init; }
    public string? GroupId { get; init; }
    public string? DeduplicationId { get; init; }
    public long? SequenceNumber { get; init; }
}

/// <summary>What a receive asks of the store: how many, for how long, and the redrive rule that applies.</summary>
public sealed record ReceiveSpec(int Max, long Now, long VisibleUntil, bool Fifo, int? MaxReceiveCount, string? DeadLetterQueue, long DeadLetterRetentionMs);

/// <summary>How a delete or visibility change by receipt handle ended.</summary>
public enum ReceiptOutcome
{
    Done,
    Stale,
    NotInFlight,
}

/// <summary>The outcome of a FIFO send: the message stored, or the earlier one it duplicates.</summary>
public sealed record FifoSendOutcome(string MessageId, long SequenceNumber, bool Duplicate);

/// <summary>Durable queues and messages for the built-in SQS-compatible queue service.</summary>
public interface IQueueStore
{
    Task<bool> TryCreateQueueAsync(StoredQueue queue, CancellationToken cancellationToken);

    Task<StoredQueue?> GetQueueAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<StoredQueue>> ListQueuesAsync(string prefix, string? afterName, int limit, CancellationToken cancellationToken);

    Task<bool> DeleteQueueAsync(string name, CancellationToken cancellationToken);

    Task<bool> UpdateQueueAsync(string name, string attributes, long modifiedAt, CancellationToken cancellationToken);

    /// <summary>Re-dates every message of the queue to expire <paramref name="retentionMs"/> after it was sent.</summary>
    Task SetRetentionAsync(string queue, long retentionMs, CancellationToken cancellationToken);

    /// <summary>The queue's tags as the JSON object the queue service wrote (null: no such queue).</summary>
    Task<string?> GetTagsAsync(string name, CancellationToken cancellationToken);

    Task<bool> SetTagsAsync(string name, string tags, CancellationToken cancellationToken);

    Task AddMessageAsync(string queue, StoredMessage message, CancellationToken cancellationToken);

    /// <summary>Adds a FIFO message unless one with the same deduplication id arrived after <paramref name="dedupSince"/>.</summary>
    Task<FifoSendOutcome> AddFifoMessageAsync(string queue, StoredMessage message, long dedupSince, CancellationToken cancellationToken);

    /// <summary>Takes up to Max visible messages, moving those past the redrive limit to the dead-letter queue; returns the messages received and how many were moved.</summary>
    Task<(IReadOnlyList<StoredMessage> Received, int Moved)> ReceiveAsync(string queue, ReceiveSpec spec, CancellationToken cancellationToken);

    Task<ReceiptOutcome> DeleteMessageAsync(string queue, long id, string receipt, CancellationToken cancellationToken);

    /// <summary>Deletes the messages whose receipts still match, in one transaction; stale ones are left.</summary>
    Task DeleteMessagesAsync(string queue, IReadOnlyList<(long Id, string Receipt)> messages, CancellationToken cancellationToken);

    Task<ReceiptOutcome> ChangeVisibilityAsync(string queue, long id, string receipt, long now, long visibleAt, CancellationToken cancellationToken);

    Task PurgeAsync(string queue, CancellationToken cancellationToken);

    /// <summary>Visible, in flight and delayed message counts.</summary>
    Task<(long Visible, long InFlight, long Delayed)> CountAsync(string queue, long now, CancellationToken cancellationToken);

    /// <summary>When the next invisible message becomes visible, if any.</summary>
    Task<long?> NextVisibleAtAsync(string queue, long now, CancellationToken cancellationToken);
}
