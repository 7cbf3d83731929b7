namespace Hayate.Invocation.Concurrency;

/// <summary>
/// Counts invocations in flight against the account limit. One component with one job, so that
/// it can become cluster-wide later; reserved and provisioned concurrency build on it.
/// </summary>
public sealed class ConcurrencyLimiter(int limit)
{
    private int _inFlight;

    public int Limit => limit;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Takes a slot, or returns false immediately when none is free (no queueing).</summary>
    public bool TryAcquire()
    {
        if (Interlocked.Increment(ref _inFlight) <= limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _inFlight);
        return false;
    }

    public void Release() => Interlocked.Decrement(ref _inFlight);
}
