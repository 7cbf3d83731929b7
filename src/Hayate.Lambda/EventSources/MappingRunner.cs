using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hayate.Kernel.Errors;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Invoking;
using Microsoft.Extensions.Logging;

namespace Hayate.Lambda.EventSources;

/// <summary>
/// What every running mapping does: holds the mapping's current settings (replaced by updates
/// without a restart), waits while it is disabled, and invokes its function synchronously, as
/// Lambda's pollers do.
/// </summary>
internal abstract partial class MappingRunner(EventSourceMapping mapping, Invoker invoker, TimeProvider time, ILogger logger) : IDisposable
{
    /// <summary>
    /// Roughly what one synchronous invoke carries (6 MB, less room for the event's envelope): a batch
    /// stops gathering at this estimate; <see cref="Fit"/>, on the real payload, has the last word.
    /// </summary>
    protected const int MaxBatchBytes = Limits.MaxSyncPayload - (64 * 1024);

    /// <summary>How long a loop waits after an unexpected failure (a store error, say) before it goes on.</summary>
    protected static readonly TimeSpan ProblemBackoff = TimeSpan.FromSeconds(1);

    // Non-ASCII and HTML-sensitive characters as they are: payloads stay the size the limits assume.
    private static readonly JsonSerializerOptions PayloadJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private readonly Lock _tasksGate = new();
    private EventSourceMapping _current = mapping;
    private CancellationTokenSource _changed = new();
    private int _started;

    public EventSourceMapping Current => Volatile.Read(ref _current);

    /// <summary>What the last batch came to, reported as LastProcessingResult (streams).</summary>
    public string LastProcessingResult { get; protected set; } = "No records processed";

    protected CancellationToken Stopping => _stop.Token;

    protected ILogger Logger => logger;

    /// <summary>Cancelled when the settings change, so that long waits take up the new ones at once.</summary>
    protected CancellationToken Changed => Volatile.Read(ref _changed).Token;

    /// <summary>Starts polling; once (later calls do nothing).</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            OnStart();
        }
    }

    protected abstract void OnStart();

    public void Apply(EventSourceMapping mapping)
    {
        Volatile.Write(ref _current, mapping);
        // The old source is not disposed: a poller may be linking to its token at this moment.
        Interlocked.Exchange(ref _changed, new CancellationTokenSource()).Cancel();
    }

    /// <summary>Stops polling and waits for batches in flight to finish (their function calls are not cut short).</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        Task[] tasks;
        lock (_tasksGate)
        {
            tasks = [.. _tasks];
        }

        await Task.WhenAll(tasks);
    }

    /// <summary>After <see cref="StopAsync"/>: releases the stop and change signals.</summary>
    public void Dispose()
    {
        _stop.Dispose();
        Volatile.Read(ref _changed).Dispose();
    }

    protected bool Run(Func<Task> loop)
    {
        lock (_tasksGate)
        {
            if (_stop.IsCancellationRequested)
            {
                return false;
            }

            _tasks.RemoveAll(t => t.IsCompleted);
            _tasks.Add(Task.Run(async () =>
            {
                try
                {
                    await loop();
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                }
                catch (Exception ex)
                {
                    // Loops survive their own failures (RecoverAsync); this is the last line, so that nothing ends silently.
                    LastProcessingResult = Problem(ex);
                    LogLoopEnded(logger, ex, Current.Uuid);
                }
            }));
            return true;
        }
    }

    /// <summary>
    /// After an unexpected failure of one round of a loop: reports it (LastProcessingResult and the
    /// server log) and waits a moment, so that the loop can go on rather than die.
    /// </summary>
    protected async Task RecoverAsync(Exception exception)
    {
        LastProcessingResult = Problem(exception);
        LogRoundFailed(logger, exception, Current.Uuid);
        await Delay(ProblemBackoff, Stopping);
    }

    private static string Problem(Exception exception) => $"PROBLEM: {exception.GetType().Name}: {exception.Message}";

    /// <summary>
    /// The payload of the first items that fit in a synchronous invoke (6 MB), and how many they are: at
    /// least one. The rest is for the caller to hand back to its source.
    /// </summary>
    protected static (byte[] Payload, int Count) Fit<T>(List<T> items, Func<List<T>, JsonObject> eventOf)
    {
        var count = items.Count;
        while (true)
        {
            var payload = Encoding.UTF8.GetBytes(eventOf(count == items.Count ? items : items[..count]).ToJsonString(PayloadJson));
            if (payload.Length <= Limits.MaxSyncPayload || count == 1)
            {
                return (payload, count);
            }

            count = Math.Clamp((int)((long)count * Limits.MaxSyncPayload / payload.Length), 1, count - 1);
        }
    }

    /// <summary>The clock every wait and deadline of the runner goes by.</summary>
    protected TimeProvider Time => time;

    /// <summary>A token that ends on stop or on a change of settings.</summary>
    protected CancellationTokenSource UntilChangedOrStopped() => CancellationTokenSource.CreateLinkedTokenSource(Stopping, Changed);

    /// <summary>Waits while the mapping is disabled; false once stopping.</summary>
    protected async Task<bool> WaitUntilEnabledAsync()
    {
        while (!Stopping.IsCancellationRequested && !Current.Enabled)
        {
            using var wake = UntilChangedOrStopped();
            await Delay(Timeout.InfiniteTimeSpan, wake.Token);
        }

        return !Stopping.IsCancellationRequested;
    }

    /// <summary>Sleeps; a cancelled sleep just ends early.</summary>
    protected async Task Delay(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, time, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    protected Task<Result<InvokeOutcome>> InvokeAsync(EventSourceMapping mapping, byte[] payload, CancellationToken cancellationToken) =>
        invoker.InvokeAsync(new InvokeCall(new FunctionRef(mapping.FunctionName, mapping.Qualifier), InvocationType.RequestResponse, payload, TailLog: false, ClientContextBase64: null), cancellationToken);

    /// <summary>
    /// The identifiers a function reported in `batchItemFailures`: empty when all succeeded (an empty
    /// or null list, an empty or null response), null when the whole batch counts as failed (not
    /// JSON, an empty, null or unknown identifier).
    /// </summary>
    protected static IReadOnlySet<string>? ItemFailures(ReadOnlyMemory<byte> response, IReadOnlySet<string> known)
    {
        var failed = new HashSet<string>(StringComparer.Ordinal);
        if (response.IsEmpty)
        {
            return failed;
        }

        try
        {
            using var document = JsonDocument.Parse(response);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Null || (root.ValueKind == JsonValueKind.Object && !root.EnumerateObject().Any()))
            {
                return failed;
            }

            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("batchItemFailures", out var list))
            {
                return root.ValueKind == JsonValueKind.Object ? failed : null;
            }

            if (list.ValueKind == JsonValueKind.Null)
            {
                return failed;
            }

            if (list.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            foreach (var item in list.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("itemIdentifier", out var id) ||
                    id.ValueKind != JsonValueKind.String || id.GetString() is not { Length: > 0 } identifier || !known.Contains(identifier))
                {
                    return null;
                }

                failed.Add(identifier);
            }

            return failed;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    protected static string Describe(Result<InvokeOutcome> result) => result.Ok
        ? $"PROBLEM: Function call failed ({result.Value.FunctionError})"
        : $"PROBLEM: {result.Error.Type}: {result.Error.Message}";

    [LoggerMessage(EventId = 2304, Level = LogLevel.Error, Message = "event source mapping {Uuid}: a polling round failed; retrying")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception, string uuid);

    [LoggerMessage(EventId = 2305, Level = LogLevel.Critical, Message = "event source mapping {Uuid}: a polling loop ended on an unexpected error")]
    private static partial void LogLoopEnded(ILogger logger, Exception exception, string uuid);
}
