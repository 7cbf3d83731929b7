namespace Hayate.Lambda.Invoking;

/// <summary>An accepted asynchronous event as the journal keeps it (the payload is read separately).</summary>
public sealed record StoredEvent(
    long Id, string FunctionName, string? Qualifier, string RequestId, string? ClientContext, int Attempts, long EnqueuedAtMs, long NextAttemptAtMs)
{
    /// <summary>The payload when it is at hand in memory (small events accepted by this process); null: read it from the journal.</summary>
    public byte[]? Payload { get; init; }

}

/// <summary>One change to the journal; a batch of them is one transaction.</summary>
public abstract record EventChange;

/// <summary>A new event; the batch's result gives its id.</summary>
public sealed record AppendEvent(string FunctionName, string? Qualifier, string RequestId, byte[] Payload, string? ClientContext, long EnqueuedAtMs) : EventChange;

/// <summary>The event ran, or was given up on: it leaves the journal.</summary>
public sealed record RemoveEvent(long Id) : EventChange;

/// <summary>The event failed or was throttled and runs again at <see cref="NextAttemptAtMs"/>.</summary>
public sealed record RescheduleEvent(long Id, int Attempts, long NextAttemptAtMs, string? LastError) : EventChange;

/// <summary>
/// The durable journal of asynchronous invocations. Appends are on disk (fsync'd) when
/// <see cref="ApplyAsync"/> returns, so an event acknowledged with 202 survives a crash.
/// <see cref="ApplyAsync"/> has one caller at a time (the queue's single writer).
/// </summary>
public interface IAsyncEventStore
{
    /// <summary>Applies the changes in one transaction; returns the ids of the appended events, in order.</summary>
    Task<IReadOnlyList<long>> ApplyAsync(IReadOnlyList<EventChange> changes, CancellationToken cancellationToken);

    /// <summary>Every event in the journal, oldest first: what a restarted server must still run.</summary>
    Task<IReadOnlyList<StoredEvent>> LoadAllAsync(CancellationToken cancellationToken);

    Task<byte[]?> PayloadAsync(long id, CancellationToken cancellationToken);
}
