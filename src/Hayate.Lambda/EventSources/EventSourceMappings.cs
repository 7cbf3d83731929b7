using System.Collections.Concurrent;
using Hayate.Kernel.Accounts;
using Hayate.Kernel.Errors;
using Hayate.Kinesis;
using Hayate.Lambda.Concurrency;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Invoking;
using Hayate.Sqs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hayate.Lambda.EventSources;

/// <summary>
/// Create/Get/Update/Delete/ListEventSourceMapping(s), and a runner per mapping that polls its source.
/// A change is answered in its transitional state (Creating, Enabling, Disabling, Updating, Deleting)
/// and settles as soon as the runner has taken it up; a restart settles whatever was in transition.
/// </summary>
public sealed partial class EventSourceMappings(
    IEventSourceMappingStore store,
    FunctionManager functions,
    Invoker invoker,
    QueueService queues,
    StreamService streams,
    ConcurrencyLimiter limiter,
    TimeProvider time,
    ILogger<EventSourceMappings> logger) : BackgroundService
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ConcurrentDictionary<string, MappingRunner> _runners = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _settling = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    public string ArnOf(string uuid) => functions.Account.ArnFor("lambda", "event-source-mapping:" + uuid);

    public string FunctionArnOf(EventSourceMapping mapping) => functions.ArnOf(mapping.FunctionName, mapping.Qualifier);

    /// <summary>What the mapping's last batch came to (streams report it).</summary>
    public string LastProcessingResultOf(string uuid) => _runners.TryGetValue(uuid, out var runner) ? runner.LastProcessingResult : "No records processed";

    public async Task<Result<EventSourceMapping>> CreateAsync(string? eventSourceArn, string? functionName, EventSourceSettings settings, CancellationToken cancellationToken)
    {
        if (eventSourceArn is null || EventSourceArns.KindOf(eventSourceArn) is not { } kind)
        {
            return LambdaErrors.InvalidParameter($"Unrecognized event source, must be kinesis or sqs. Unsupported source arn : {eventSourceArn ?? "null"}");
        }

        var function = await FunctionOfAsync(functionName, cancellationToken);
        if (!function.Ok)
        {
            return function.Error;
        }

        var source = await CheckSourceAsync(eventSourceArn, kind, function.Value, cancellationToken);
        if (!source.Ok)
        {
            return source.Error;
        }

        var blank = new EventSourceMapping
        {
            Uuid = Guid.NewGuid().ToString(),
            EventSourceArn = eventSourceArn,
            FunctionName = function.Value.Name,
            Qualifier = function.Value.Qualifier,
            Enabled = true,
            State = "Creating",
            BatchSize = 0,
            MaximumBatchingWindowInSeconds = 0,
            LastModified = time.GetUtcNow(),
        };
        var applied = EventSourceMappingRules.Apply(blank, creating: true, settings, fifo: source.Value);
        if (!applied.Ok)
        {
            return applied.Error;
        }

        var mapping = applied.Value;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var existing = (await store.ListAsync(cancellationToken)).FirstOrDefault(m =>
                m.EventSourceArn == eventSourceArn && m.FunctionName == mapping.FunctionName && m.Qualifier == mapping.Qualifier);
            if (existing is not null)
            {
                return LambdaErrors.Conflict($"An event source mapping with {(kind == EventSourceKind.Sqs ? "SQS" : "Kinesis")} arn (\" {eventSourceArn} \") and function (\" {mapping.FunctionName} \") already exists. Please update or delete the existing mapping with UUID {existing.Uuid}");
            }

            // Where each shard starts is fixed now, so LATEST means "after the mapping was created", even across a restart.
            var checkpoints = new Dictionary<string, string?>(StringComparer.Ordinal);
            if (kind == EventSourceKind.Kinesis)
            {
                var stream = await streams.DescribeAsync(eventSourceArn, cancellationToken);
                foreach (var shard in stream.Ok ? stream.Value.ShardIds : [])
                {
                    checkpoints[shard] = await StreamMappingRunner.StartOfAsync(streams, mapping, shard, cancellationToken);
                }
            }

            await store.CreateAsync(mapping, checkpoints, cancellationToken);

            // Under the gate, so that runners see changes in the order the store does, and never a deleted mapping's.
            Settle(mapping);
        }
        finally
        {
            _gate.Release();
        }

        return mapping;
    }

    public async Task<Result<EventSourceMapping>> GetAsync(string uuid, CancellationToken cancellationToken) =>
        await store.GetAsync(uuid, cancellationToken) is { } mapping ? mapping : NotFound();

    /// <summary>All mappings, or those of one source and/or one function (a plain name matches every qualifier of it).</summary>
    public async Task<Result<IReadOnlyList<EventSourceMapping>>> ListAsync(string? eventSourceArn, string? functionName, CancellationToken cancellationToken)
    {
        FunctionRef? function = null;
        if (functionName is not null)
        {
            if (!FunctionArn.TryParse(functionName, out var reference))
            {
                return InvalidFunctionName(functionName);
            }

            function = reference;
        }

        var all = await store.ListAsync(cancellationToken);
        return Result.Of<IReadOnlyList<EventSourceMapping>>(all
            .Where(m => eventSourceArn is null || m.EventSourceArn == eventSourceArn)
            .Where(m => function is not { } f || (m.FunctionName == f.Name && (f.Qualifier is null || m.Qualifier == f.Qualifier)))
            .ToList());
    }

    public async Task<Result<EventSourceMapping>> UpdateAsync(string uuid, string? functionName, EventSourceSettings settings, CancellationToken cancellationToken)
    {
        FunctionRef? function = null;
        if (functionName is not null)
        {
            var found = await FunctionOfAsync(functionName, cancellationToken);
            if (!found.Ok)
            {
                return found.Error;
            }

            function = found.Value;
        }

        EventSourceMapping mapping;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (await store.GetAsync(uuid, cancellationToken) is not { } current)
            {
                return NotFound();
            }

            if (current.State == "Deleting")
            {
                return new AwsError("ResourceInUseException", 400, $"Cannot update the event source mapping {uuid}: it is being deleted.");
            }

            var fifo = false;
            if (function is { } target)
            {
                var source = await CheckSourceAsync(current.EventSourceArn, current.Kind, target, cancellationToken);
                if (!source.Ok)
                {
                    return source.Error;
                }

                fifo = source.Value;
            }
            else if (current.Kind == EventSourceKind.Sqs)
            {
                fifo = (await queues.GetQueueAsync(current.EventSourceArn, cancellationToken)) is { Ok: true } queue && queue.Value.Fifo;
            }

            var retargeted = function is { } f ? current with { FunctionName = f.Name, Qualifier = f.Qualifier } : current;
            var applied = EventSourceMappingRules.Apply(retargeted, creating: false, settings, fifo);
            if (!applied.Ok)
            {
                return applied.Error;
            }

            var state = applied.Value.Enabled == current.Enabled ? "Updating" : applied.Value.Enabled ? "Enabling" : "Disabling";
            mapping = applied.Value with { State = state, LastModified = time.GetUtcNow() };
            if (!await store.UpdateAsync(mapping, cancellationToken))
            {
                return NotFound();
            }

            Settle(mapping);
        }
        finally
        {
            _gate.Release();
        }

        return mapping;
    }

    /// <summary>Answers with the mapping in state Deleting; its runner finishes the batch in flight, then the mapping is gone.</summary>
    public async Task<Result<EventSourceMapping>> DeleteAsync(string uuid, CancellationToken cancellationToken)
    {
        EventSourceMapping mapping;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (await store.GetAsync(uuid, cancellationToken) is not { } current)
            {
                return NotFound();
            }

            mapping = current with { State = "Deleting" };
            await store.UpdateAsync(mapping, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }

        _ = Task.Run(() => RemoveAsync(uuid), CancellationToken.None);
        return mapping;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        foreach (var mapping in await store.ListAsync(stoppingToken))
        {
            if (mapping.State == "Deleting")
            {
                await store.DeleteAsync(mapping.Uuid, stoppingToken);
                continue;
            }

            Settle(mapping);
        }
    }

    public override void Dispose()
    {
        _stopping.Dispose();
        _gate.Dispose();
        base.Dispose();
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await Task.WhenAll(_settling.Values).WaitAsync(cancellationToken);
        await base.StopAsync(cancellationToken);
        await Task.WhenAll(_runners.Values.Select(r => r.StopAsync())).WaitAsync(cancellationToken);
    }

    /// <summary>Hands the mapping to its runner (starting one if needed), then records the state it settles in.</summary>
    private void Settle(EventSourceMapping mapping)
    {
        var settled = mapping with { State = mapping.SettledState };
        var runner = _runners.GetOrAdd(mapping.Uuid, _ => NewRunner(settled));
        runner.Apply(settled);
        runner.Start();
        if (mapping.State == settled.State)
        {
            return;
        }

        var settling = SettleStateAsync(mapping, settled);
        _settling[mapping.Uuid] = settling;
        _ = settling.ContinueWith(done => _settling.TryRemove(KeyValuePair.Create(mapping.Uuid, done)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// Records the state a change settled in, unless something changed the mapping since (a later
    /// change settles itself). A failed write is logged and tried again, with growing pauses, until
    /// it lands, the mapping changes, or the server stops.
    /// </summary>
    private async Task SettleStateAsync(EventSourceMapping mapping, EventSourceMapping settled)
    {
        var pause = TimeSpan.FromSeconds(1);
        for (var attempt = 1; !_stopping.IsCancellationRequested; attempt++)
        {
            try
            {
                await _gate.WaitAsync(_stopping.Token);
                try
                {
                    if (await store.GetAsync(mapping.Uuid, _stopping.Token) is { } now && now.State == mapping.State && now.LastModified == mapping.LastModified)
                    {
                        await store.UpdateAsync(settled, _stopping.Token);
                    }
                }
                finally
                {
                    _gate.Release();
                }

                return;
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogSettleFailed(logger, ex, mapping.Uuid, settled.State, attempt);
            }

            try
            {
                await Task.Delay(pause, time, _stopping.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
        }
    }

    private MappingRunner NewRunner(EventSourceMapping mapping) => mapping.Kind == EventSourceKind.Sqs
        ? new SqsMappingRunner(mapping, invoker, queues, limiter.ReservedFor(mapping.FunctionName) ?? Math.Min(1000, limiter.Limit), time, logger)
        : new StreamMappingRunner(mapping, invoker, streams, queues, store, functions, time, logger);

    private async Task RemoveAsync(string uuid)
    {
        try
        {
            if (_runners.TryRemove(uuid, out var runner))
            {
                await runner.StopAsync();
                runner.Dispose();
            }

            await store.DeleteAsync(uuid, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The mapping stays in Deleting; the next start removes it.
            LogRemoveFailed(logger, ex, uuid);
        }
    }

    private async Task<Result<FunctionRef>> FunctionOfAsync(string? functionName, CancellationToken cancellationToken)
    {
        if (functionName is null || !FunctionArn.TryParse(functionName, out var reference))
        {
            return InvalidFunctionName(functionName ?? "null");
        }

        var function = await functions.GetAsync(reference, cancellationToken);
        return function.Ok ? reference with { Region = null, Account = null } : function.Error;
    }

    /// <summary>
    /// The source must exist; a queue must hide a received message for at least the function's timeout
    /// (or a batch would reappear while it runs), as Lambda requires. For a queue, whether it is FIFO.
    /// </summary>
    private async Task<Result<bool>> CheckSourceAsync(string arn, EventSourceKind kind, FunctionRef function, CancellationToken cancellationToken)
    {
        if (kind == EventSourceKind.Sqs)
        {
            var queue = await queues.GetQueueAsync(arn, cancellationToken);
            if (!queue.Ok || queue.Value.Arn != arn)
            {
                return LambdaErrors.InvalidParameter($"The provided event source queue does not exist: {arn}. Create it first (aws sqs create-queue).");
            }

            var visibility = int.Parse(queue.Value.Attributes["VisibilityTimeout"], System.Globalization.CultureInfo.InvariantCulture);
            var configuration = await functions.GetAsync(function, cancellationToken);
            if (configuration.Ok && visibility < configuration.Value.Timeout)
            {
                return LambdaErrors.InvalidParameter($"Queue visibility timeout: {visibility} seconds is less than Function timeout: {configuration.Value.Timeout} seconds");
            }

            return queue.Value.Fifo;
        }

        var stream = await streams.DescribeAsync(arn, cancellationToken);
        return stream.Ok && stream.Value.Arn == arn
            ? false
            : LambdaErrors.InvalidParameter($"Stream not found: {arn}. Create it first (aws kinesis create-stream).");
    }

    private static AwsError NotFound() => LambdaErrors.NotFound("The resource you requested does not exist.");

    private static AwsError InvalidFunctionName(string value) =>
        AwsErrors.Validation("functionName", value, @"Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?");

    [LoggerMessage(EventId = 2304, Level = LogLevel.Warning, Message = "event source mapping {Uuid} could not be recorded as {State} (attempt {Attempt}); trying again")]
    private static partial void LogSettleFailed(ILogger logger, Exception exception, string uuid, string state, int attempt);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Error, Message = "event source mapping {Uuid} could not be removed; it stays in Deleting until the next start")]
    private static partial void LogRemoveFailed(ILogger logger, Exception exception, string uuid);
}
