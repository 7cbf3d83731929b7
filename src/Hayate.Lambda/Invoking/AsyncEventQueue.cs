using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Hayate.Kernel.Time;
using Hayate.Lambda.Concurrency;
using Hayate.Lambda.Functions;
using Hayate.Sqs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hayate.Lambda.Invoking;

/// <summary>Settings of asynchronous invocation (section "Lambda:Async").</summary>
public sealed record AsyncOptions
{
    /// <summary>The delay before the first retry; the second waits twice as long (Lambda: about 1 and 2 minutes).</summary>
    public TimeSpan FirstRetryDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How often events waiting for a concurrency slot are offered again (besides when one of ours frees a slot).</summary>
    public TimeSpan ThrottleDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Payloads up to this size stay in memory while queued; larger ones are read back from the journal.</summary>
    public int InMemoryPayloadLimit { get; init; } = 16 * 1024;

    /// <summary>Events run at once at most (each within its function's concurrency too).</summary>
    public int Workers { get; init; } = 64;
}

/// <summary>
/// Asynchronous invocation with Lambda's rules. An accepted event is appended to the durable
/// journal (group commit: one transaction and one fsync for every event that arrived meanwhile)
/// before Invoke answers 202. Workers run events within the concurrency limits; a failed run is
/// retried up to MaximumRetryAttempts with growing delays and never past MaximumEventAgeInSeconds;
/// throttles wait and are offered again until the age limit. The journal is the truth: after a
/// crash every event still in it runs again (at least once; the request id stays the same).
/// </summary>
public sealed partial class AsyncEventQueue(
    IAsyncEventStore store, Invoker invoker, FunctionManager functions, EventInvokeConfigs configs, ConcurrencyLimiter limiter, QueueService queues,
    AsyncOptions options, TimeProvider time, ILogger<AsyncEventQueue> logger) : BackgroundService
{
    private const int MaxBatch = 1024;
    private readonly Channel<(EventChange Change, TaskCompletionSource<long>? Done)> _journal =
        Channel.CreateUnbounded<(EventChange, TaskCompletionSource<long>?)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<StoredEvent> _ready = Channel.CreateUnbounded<StoredEvent>();
    private readonly Dictionary<string, List<StoredEvent>> _parked = new(StringComparer.Ordinal);
    private readonly Lock _parkedGate = new();

    // Throttled events wait here per pool ("" is the unreserved pool, else the function's own
    // reservation): one is offered whenever one of our runs frees a slot of that pool, and a few
    // on every sweep (slots freed by synchronous invokes), instead of each retrying on a timer.
    private readonly Dictionary<string, Queue<StoredEvent>> _waiting = new(StringComparer.Ordinal);
    private readonly Lock _waitingGate = new();
    private long _pending;

    /// <summary>Events accepted and not yet finished (waiting, delayed for a retry, or running).</summary>
    public long Pending => Interlocked.Read(ref _pending);

    /// <summary>Appends the event to the journal; completes once it is durable. Throws if it could not be stored.</summary>
    public async Task EnqueueAsync(string functionName, string? qualifier, string requestId, byte[] payload, string? clientContext, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var done = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        _journal.Writer.TryWrite((new AppendEvent(functionName, qualifier, requestId, payload, clientContext, now), done));
        var id = await done.Task.WaitAsync(cancellationToken);
        Interlocked.Increment(ref _pending);
        _ready.Writer.TryWrite(new StoredEvent(id, functionName, qualifier, requestId, clientContext, 0, now, now)
        {
            Payload = payload.Length <= options.InMemoryPayloadLimit ? payload : null,
        });
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        limiter.ReservationChanged += Unpark;
        Task? journal = null;
        try
        {
            // What the last run left: every event in the journal runs (again), retries at their time.
            // The writer starts only after this read: an event accepted meanwhile waits for it, and
            // is not both read here and handed over by EnqueueAsync.
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            IReadOnlyList<StoredEvent> left;
            try
            {
                left = await store.LoadAllAsync(stoppingToken);
            }
            finally
            {
                journal = Task.Run(() => WriteJournalAsync(stoppingToken), CancellationToken.None);
            }

            if (left.Count > 0)
            {
                LogRecovered(logger, left.Count);
            }

            foreach (var evt in left)
            {
                Interlocked.Increment(ref _pending);
                Schedule(evt, TimeSpan.FromMilliseconds(Math.Max(0, evt.NextAttemptAtMs - now)), stoppingToken);
            }

            await Task.WhenAll(Enumerable.Range(0, options.Workers).Select(_ => WorkAsync(stoppingToken)).Append(SweepAsync(stoppingToken)));
        }
        catch (OperationCanceledException)
        {
        }

        _journal.Writer.TryComplete();
        if (journal is not null)
        {
            await journal;
        }
    }

    /// <summary>The single writer: takes every change waiting, commits them in one transaction, then acknowledges.</summary>
    private async Task WriteJournalAsync(CancellationToken stoppingToken)
    {
        var batch = new List<(EventChange Change, TaskCompletionSource<long>? Done)>(MaxBatch);
        while (await _journal.Reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _journal.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                // Not cancelled by shutdown: what was accepted or finished is written before the process ends.
                var ids = await store.ApplyAsync(batch.Select(b => b.Change).ToList(), CancellationToken.None);
                var next = 0;
                foreach (var (change, done) in batch)
                {
                    if (change is AppendEvent)
                    {
                        done?.TrySetResult(ids[next++]);
                    }
                }
            }
            catch (Exception ex)
            {
                LogJournalFailed(logger, ex, batch.Count);
                foreach (var (_, done) in batch)
                {
                    done?.TrySetException(ex);
                }

                if (stoppingToken.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        await foreach (var evt in _ready.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                await RunAsync(evt, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A failure of ours counts as an attempt: retried by the same rule as a function
                // error, and given up after the last retry, not offered again and again for ever.
                LogFailed(logger, ex, evt.RequestId);
                var attempts = evt.Attempts + 1;
                var delay = RetryPolicy.Delay(options.FirstRetryDelay, attempts);
                if (RetryPolicy.GivesUp(attempts, EventInvokeConfig.DefaultRetryAttempts, AgeOf(evt), delay, TimeSpan.FromSeconds(EventInvokeConfig.DefaultMaximumEventAgeSeconds)) is { } condition)
                {
                    await FailedForGoodAfterOurFailureAsync(evt, attempts, condition, ex, stoppingToken);
                    GiveUp(evt with { Attempts = attempts }, "ServiceException", $"{condition}: {ex.Message}");
                }
                else
                {
                    Retry(evt, attempts, delay, "ServiceException", stoppingToken);
                }
            }
        }
    }

    private async Task RunAsync(StoredEvent evt, CancellationToken stoppingToken)
    {
        var config = await configs.ForEventAsync(evt.FunctionName, evt.Qualifier, stoppingToken);
        var maxAge = TimeSpan.FromSeconds(config?.MaximumEventAgeSeconds ?? EventInvokeConfig.DefaultMaximumEventAgeSeconds);
        var age = AgeOf(evt);
        var function = await functions.ResolveForInvokeAsync(new FunctionRef(evt.FunctionName, evt.Qualifier), stoppingToken);
        if (!function.Ok)
        {
            GiveUp(evt, "ResourceNotFoundException", function.Error.Message);
            return;
        }

        if (age >= maxAge)
        {
            // Too old to run (it waited for a slot, a paused function or a restart): Lambda discards it.
            await FailedForGoodAsync(config, function.Value, evt, evt.Payload ?? await store.PayloadAsync(evt.Id, stoppingToken), null, "EventAgeExceeded", evt.Attempts, stoppingToken);
            GiveUp(evt, "EventAgeExceeded", "the event is older than MaximumEventAgeInSeconds");
            return;
        }

        if (limiter.ReservedFor(evt.FunctionName) == 0 && Park(evt))
        {
            // Reserved concurrency 0 stops the function: its events wait, without being offered
            // again and again, until the reservation changes (see Unpark).
            return;
        }

        if (limiter.TryAcquire(evt.FunctionName) is not { } slot)
        {
            // Throttled: offered again later, without counting as an attempt, until the event is
            // too old (the age check above, on a later offer). Nothing to journal: the attempt
            // count is unchanged, and after a restart it is offered at once.
            Wait(evt);
            return;
        }

        InvokeOutcome outcome;
        byte[]? payload;
        try
        {
            if (await functions.CheckEnvironmentAsync(function.Value, stoppingToken) is { } kms)
            {
                GiveUp(evt, kms.Type, kms.Message);
                return;
            }

            payload = evt.Payload ?? await store.PayloadAsync(evt.Id, stoppingToken);
            if (payload is null)
            {
                Finish(evt);
                return;
            }

            (outcome, _) = await invoker.RunAsync(function.Value, functions.ArnOf(evt.FunctionName, evt.Qualifier), evt.RequestId, payload, evt.ClientContext, tailLog: false, stoppingToken);
        }
        finally
        {
            slot.Release();
            OfferWaiting(PoolOf(evt.FunctionName), 1);
        }

        var attempts = evt.Attempts + 1;
        if (outcome.FunctionError is null)
        {
            // The destination's record is durable before the event leaves the journal: a crash in
            // between sends it twice, never not at all.
            await SendToDestinationAsync(config?.OnSuccess, evt, payload, outcome, "Success", attempts, stoppingToken);
            Finish(evt);
            return;
        }

        var delay = RetryPolicy.Delay(options.FirstRetryDelay, attempts);
        if (RetryPolicy.GivesUp(attempts, config?.RetryAttempts ?? EventInvokeConfig.DefaultRetryAttempts, age, delay, maxAge) is { } condition)
        {
            await FailedForGoodAsync(config, function.Value, evt, payload, outcome, condition, attempts, stoppingToken);
            GiveUp(evt with { Attempts = attempts }, condition, "the function failed on every attempt");
            return;
        }

        Retry(evt, attempts, delay, "Unhandled", stoppingToken);
    }

    /// <summary>
    /// The last attempt failed inside Hayate: the event still goes where failed events go (OnFailure,
    /// the dead-letter queue), with the failure as its error, as far as Hayate can still do that.
    /// </summary>
    private async Task FailedForGoodAfterOurFailureAsync(StoredEvent evt, int attempts, string condition, Exception failure, CancellationToken stoppingToken)
    {
        try
        {
            var config = await configs.ForEventAsync(evt.FunctionName, evt.Qualifier, stoppingToken);
            var function = await functions.ResolveForInvokeAsync(new FunctionRef(evt.FunctionName, evt.Qualifier), stoppingToken);
            if (!function.Ok)
            {
                return;
            }

            var error = Encoding.UTF8.GetBytes(new JsonObject { ["errorMessage"] = failure.Message, ["errorType"] = "ServiceException" }.ToJsonString());
            var outcome = new InvokeOutcome(200, error, "Unhandled", null, function.Value.Version);
            await FailedForGoodAsync(config, function.Value, evt, evt.Payload ?? await store.PayloadAsync(evt.Id, stoppingToken), outcome, condition, attempts, stoppingToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogFailed(logger, ex, evt.RequestId);
        }
    }

    /// <summary>
    /// The event will not run again: its OnFailure destination gets the invocation record, and the
    /// function's dead-letter queue the original event with RequestID, ErrorCode and ErrorMessage.
    /// Both are durable before the event leaves the journal.
    /// </summary>
    private async Task FailedForGoodAsync(EventInvokeConfig? config, FunctionConfiguration function, StoredEvent evt, byte[]? payload, InvokeOutcome? outcome, string condition, int invokeCount, CancellationToken stoppingToken)
    {
        await SendToDestinationAsync(config?.OnFailure, evt, payload, outcome, condition, invokeCount, stoppingToken);
        if (function.DeadLetterTargetArn is not { } deadLetter)
        {
            return;
        }

        if (!deadLetter.StartsWith("arn:aws:sqs:", StringComparison.Ordinal))
        {
            LogDestinationUnsupported(logger, evt.RequestId, deadLetter);
            return;
        }

        var message = outcome is null ? "The event was older than the function's maximum event age." : ErrorMessageOf(outcome.Payload);
        var attributes = new Dictionary<string, QueueMessageAttribute>(StringComparer.Ordinal)
        {
            ["RequestID"] = new() { DataType = "String", StringValue = evt.RequestId },
            ["ErrorCode"] = new() { DataType = "Number", StringValue = outcome is null ? "429" : "200" },
            ["ErrorMessage"] = new() { DataType = "String", StringValue = message.Length > 1024 ? message[..1024] : message },
        };
        var sent = await queues.SendAsync(deadLetter, payload is null ? "" : Encoding.UTF8.GetString(payload), attributes, stoppingToken);
        if (!sent.Ok)
        {
            LogDeadLetterFailed(logger, evt.RequestId, deadLetter, sent.Error.Type, sent.Error.Message);
        }
    }

    private static string ErrorMessageOf(ReadOnlyMemory<byte> payload)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(payload);
            if (document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object &&
                document.RootElement.TryGetProperty("errorMessage", out var message) && message.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                return message.GetString() ?? "";
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return Encoding.UTF8.GetString(payload.Span);
    }

    /// <summary>
    /// An invocation record in Lambda's shape for an OnSuccess or OnFailure destination: a Lambda
    /// function gets it as an asynchronous event of its own, an SQS queue as a message.
    /// </summary>
    private async Task SendToDestinationAsync(string? destination, StoredEvent evt, byte[]? payload, InvokeOutcome? outcome, string condition, int invokeCount, CancellationToken stoppingToken)
    {
        if (destination is null)
        {
            return;
        }

        var toQueue = destination.StartsWith("arn:aws:sqs:", StringComparison.Ordinal);
        var target = default(FunctionRef);
        if (!toQueue && (!destination.StartsWith("arn:aws:lambda:", StringComparison.Ordinal) || !FunctionArn.TryParse(destination, out target)))
        {
            LogDestinationUnsupported(logger, evt.RequestId, destination);
            return;
        }

        var responseContext = new JsonObject { ["statusCode"] = outcome is null ? 429 : 200 };
        if (outcome is not null)
        {
            responseContext["executedVersion"] = outcome.ExecutedVersion;
            if (outcome.FunctionError is { } functionError)
            {
                responseContext["functionError"] = functionError;
            }
        }

        var record = new JsonObject
        {
            ["version"] = "1.0",
            ["timestamp"] = AwsTime.Iso(time.GetUtcNow()),
            ["requestContext"] = new JsonObject
            {
                ["requestId"] = evt.RequestId,
                ["functionArn"] = functions.ArnOf(evt.FunctionName, evt.Qualifier ?? "$LATEST"),
                ["condition"] = condition,
                ["approximateInvokeCount"] = invokeCount,
            },
            ["requestPayload"] = JsonOrString(payload),
            ["responseContext"] = responseContext,
        };
        if (outcome is not null)
        {
            record["responsePayload"] = JsonOrString(outcome.Payload.ToArray());
        }

        if (toQueue)
        {
            var sent = await queues.SendAsync(destination, record.ToJsonString(), null, stoppingToken);
            if (!sent.Ok)
            {
                LogDeadLetterFailed(logger, evt.RequestId, destination, sent.Error.Type, sent.Error.Message);
            }

            return;
        }

        await EnqueueAsync(target.Name, target.Qualifier, Invoker.NewRequestId(), Encoding.UTF8.GetBytes(record.ToJsonString()), null, stoppingToken);
    }

    private static JsonNode? JsonOrString(byte[]? bytes)
    {
        if (bytes is null || bytes.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(bytes);
        }
        catch (System.Text.Json.JsonException)
        {
            return Encoding.UTF8.GetString(bytes);
        }
    }

    private string PoolOf(string functionName) => limiter.ReservedFor(functionName) is null ? "" : functionName;

    private void Wait(StoredEvent evt)
    {
        lock (_waitingGate)
        {
            var pool = PoolOf(evt.FunctionName);
            if (!_waiting.TryGetValue(pool, out var queue))
            {
                _waiting[pool] = queue = new Queue<StoredEvent>();
            }

            queue.Enqueue(evt);
        }
    }

    /// <summary>Moves up to <paramref name="count"/> events waiting for <paramref name="pool"/> back to the ready queue, oldest first.</summary>
    private void OfferWaiting(string pool, int count)
    {
        lock (_waitingGate)
        {
            if (!_waiting.TryGetValue(pool, out var queue))
            {
                return;
            }

            while (count-- > 0 && queue.TryDequeue(out var evt))
            {
                _ready.Writer.TryWrite(evt);
            }

            if (queue.Count == 0)
            {
                _waiting.Remove(pool);
            }
        }
    }

    /// <summary>Offers a few waiting events of every pool each tick: slots may have been freed by synchronous invokes, or limits raised.</summary>
    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.ThrottleDelay, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            string[] pools;
            lock (_waitingGate)
            {
                pools = [.. _waiting.Keys];
            }

            foreach (var pool in pools)
            {
                OfferWaiting(pool, 4);
            }
        }
    }

    /// <summary>The function's reservation changed: its parked events are offered again.</summary>
    public void Unpark(string functionName)
    {
        List<StoredEvent>? events;
        lock (_parkedGate)
        {
            _parked.Remove(functionName, out events);
        }

        foreach (var evt in events ?? [])
        {
            _ready.Writer.TryWrite(evt);
        }

        // Events waiting under the function's old pool are offered too; they find their new pool.
        OfferWaiting(functionName, int.MaxValue);
    }

    private bool Park(StoredEvent evt)
    {
        lock (_parkedGate)
        {
            // Checked again under the gate, so that an Unpark between the check and here is not missed.
            if (limiter.ReservedFor(evt.FunctionName) != 0)
            {
                return false;
            }

            if (!_parked.TryGetValue(evt.FunctionName, out var list))
            {
                _parked[evt.FunctionName] = list = [];
            }

            list.Add(evt);
            return true;
        }
    }

    private void Finish(StoredEvent evt)
    {
        _journal.Writer.TryWrite((new RemoveEvent(evt.Id), null));
        Interlocked.Decrement(ref _pending);
    }

    /// <summary>No more attempts (the OnFailure destination and the dead-letter queue have had theirs).</summary>
    private void GiveUp(StoredEvent evt, string reason, string message)
    {
        LogGaveUp(logger, evt.RequestId, evt.FunctionName, evt.Attempts, reason, message);
        Finish(evt);
    }

    private TimeSpan AgeOf(StoredEvent evt) => time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(evt.EnqueuedAtMs);

    private void Retry(StoredEvent evt, int attempts, TimeSpan delay, string error, CancellationToken stoppingToken)
    {
        var next = time.GetUtcNow().Add(delay).ToUnixTimeMilliseconds();
        _journal.Writer.TryWrite((new RescheduleEvent(evt.Id, attempts, next, error), null));
        Schedule(evt with { Attempts = attempts, NextAttemptAtMs = next }, delay, stoppingToken);
    }

    private void Schedule(StoredEvent evt, TimeSpan delay, CancellationToken stoppingToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            _ready.Writer.TryWrite(evt);
            return;
        }

        _ = Task.Delay(delay, time, stoppingToken).ContinueWith(
            (_, state) => _ready.Writer.TryWrite((StoredEvent)state!), evt, CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    [LoggerMessage(EventId = 2206, Level = LogLevel.Error, Message = "asynchronous invocation {RequestId}: could not send to {Target}: {ErrorType}: {Message}")]
    private static partial void LogDeadLetterFailed(ILogger logger, string requestId, string target, string errorType, string message);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Warning, Message = "asynchronous invocation {RequestId}: {Destination} is not supported yet (Lambda functions and SQS queues are); nothing sent")]
    private static partial void LogDestinationUnsupported(ILogger logger, string requestId, string destination);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Error, Message = "asynchronous invocation {RequestId} failed inside Hayate; it will be offered again")]
    private static partial void LogFailed(ILogger logger, Exception exception, string requestId);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "asynchronous invocation {RequestId} of {FunctionName} given up after {Attempts} attempts: {Reason}: {Message}")]
    private static partial void LogGaveUp(ILogger logger, string requestId, string functionName, int attempts, string reason, string message);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Error, Message = "the asynchronous event journal could not write {Count} changes")]
    private static partial void LogJournalFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Information, Message = "{Count} asynchronous events from before the restart will run")]
    private static partial void LogRecovered(ILogger logger, int count);
}

/// <summary>
/// When a failed asynchronous attempt runs again, whatever failed (the function or Hayate): after
/// the first retry delay, then twice as long each time, as Lambda backs off (about 1, then 2
/// minutes); never past MaximumRetryAttempts or MaximumEventAgeInSeconds.
/// </summary>
public static class RetryPolicy
{
    /// <summary>The pause before the retry that follows attempt <paramref name="attempts"/> (1 = the first attempt failed).</summary>
    public static TimeSpan Delay(TimeSpan firstRetryDelay, int attempts) => firstRetryDelay * (1 << Math.Clamp(attempts - 1, 0, 8));

    /// <summary>Why the event is not retried ("RetriesExhausted", "EventAgeExceeded"), or null to retry it after <paramref name="delay"/>.</summary>
    public static string? GivesUp(int attempts, int maximumRetries, TimeSpan age, TimeSpan delay, TimeSpan maximumAge) =>
        attempts > maximumRetries ? "RetriesExhausted"
        : age + delay > maximumAge ? "EventAgeExceeded"
        : null;
}
