using System.Collections.Concurrent;
using Hayate.Kernel.Errors;

namespace Hayate.Lambda.Concurrency;

/// <summary>A pool of concurrency slots: the account's unreserved pool, or one function's reservation.</summary>
public sealed class ConcurrencyPool(int limit, bool reserved)
{
    private int _inFlight;

    public int Limit { get; internal set; } = limit;

    /// <summary>True for a function's reservation: its throttles say ReservedFunctionConcurrentInvocationLimitExceeded.</summary>
    public bool Reserved { get; } = reserved;

    public int InFlight => Volatile.Read(ref _inFlight);

    internal bool TryAcquire()
    {
        if (Interlocked.Increment(ref _inFlight) <= Limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _inFlight);
        return false;
    }

    public void Release() => Interlocked.Decrement(ref _inFlight);
}

/// <summary>
/// Counts invocations in flight against the account limit and functions' reserved concurrency.
/// A function with a reservation runs only within it; every other function shares what the
/// reservations leave (never less than <see cref="MinimumUnreserved"/>). Admission is one
/// interlocked increment: a throttle is answered at once, never queued.
/// </summary>
public sealed class ConcurrencyLimiter
{
    public const int MinimumUnreserved = 100;
    private readonly ConcurrentDictionary<string, ConcurrencyPool> _reserved = new(StringComparer.Ordinal);
    private readonly ConcurrencyPool _unreserved;
    private readonly Lock _gate = new();
    private int _provisioned;

    public ConcurrencyLimiter(int limit)
    {
        Limit = limit;
        _unreserved = new ConcurrencyPool(limit, reserved: false);
    }

    /// <summary>Raised after a function's reservation was set, changed or removed.</summary>
    public event Action<string>? ReservationChanged;

    /// <summary>The account's concurrent executions limit.</summary>
    public int Limit { get; }

    /// <summary>What reservations and provisioned concurrency leave for every other function.</summary>
    public int Unreserved => Math.Max(0, _unreserved.Limit - Volatile.Read(ref _provisioned));

    public int InFlight => _unreserved.InFlight + _reserved.Values.Sum(p => p.InFlight);

    /// <summary>Takes a slot for the function, or returns null at once when its pool is full.</summary>
    public ConcurrencyPool? TryAcquire(string functionName)
    {
        var pool = _reserved.TryGetValue(functionName, out var reserved) ? reserved : _unreserved;
        return pool.TryAcquire() ? pool : null;
    }

    /// <summary>The function's reservation, if it has one.</summary>
    public int? ReservedFor(string functionName) => _reserved.TryGetValue(functionName, out var pool) ? pool.Limit : null;

    /// <summary>Sets (or with null removes) a reservation; refused if it would leave fewer than 100 unreserved.</summary>
    public AwsError? TryReserve(string functionName, int? reserved)
    {
        lock (_gate)
        {
            var current = ReservedFor(functionName) ?? 0;
            var unreserved = _unreserved.Limit + current - (reserved ?? 0) - Volatile.Read(ref _provisioned);
            if (reserved is not null && unreserved < MinimumUnreserved)
            {
                return LambdaErrors.InvalidParameter($"Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{MinimumUnreserved}].");
            }

            Apply(functionName, reserved);
        }

        ReservationChanged?.Invoke(functionName);
        return null;
    }

    /// <summary>Loads a stored reservation at start (or drops one), without the minimum check: the limit may have been lowered since.</summary>
    public void Restore(string functionName, int? reserved)
    {
        lock (_gate)
        {
            Apply(functionName, reserved);
        }

        ReservationChanged?.Invoke(functionName);
    }

    /// <summary>Provisioned concurrency of functions without a reservation comes out of the unreserved pool.</summary>
    public AwsError? TrySetProvisioned(int total, int previousTotal)
    {
        lock (_gate)
        {
            if (total > previousTotal && _unreserved.Limit - total < MinimumUnreserved)
            {
                return LambdaErrors.InvalidParameter($"Specified ConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{MinimumUnreserved}].");
            }

            Volatile.Write(ref _provisioned, total);
            return null;
        }
    }

    private void Apply(string functionName, int? reserved)
    {
        var current = ReservedFor(functionName) ?? 0;
        _unreserved.Limit += current - (reserved ?? 0);
        if (reserved is { } r)
        {
            // Calls in flight release into the pool they came from; only new calls see the new pool.
            if (_reserved.TryGetValue(functionName, out var pool))
            {
                pool.Limit = r;
            }
            else
            {
                _reserved[functionName] = new ConcurrencyPool(r, reserved: true);
            }
        }
        else
        {
            _reserved.TryRemove(functionName, out _);
        }
    }
}
