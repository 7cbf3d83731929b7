using System.Text.Json.Nodes;
using Hayate.Kernel.Time;
using Hayate.Kinesis;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Invoking;
using Hayate.Sqs;
using Microsoft.Extensions.Logging;

namespace Hayate.Lambda.EventSources;

/// <summary>
/// Reads a stream for a function, as Lambda does: one reader per shard, each handing the function one
/// batch at a time in sequence order, and checkpointing after a batch succeeds. A failed batch is
/// retried (split in two first when BisectBatchOnFunctionError is set) until it succeeds, its records
/// are older than MaximumRecordAgeInSeconds or the stream's retention, or MaximumRetryAttempts is used
/// up; then its description goes to the OnFailure destination and the shard moves on. The shard never
/// skips ahead of a batch that has not finished, so order within a shard holds throughout.
/// </summary>
internal sealed partial class StreamMappingRunner(
    EventSourceMapping mapping,
    Invoker invoker,
    StreamService streams,
    QueueService queues,
    IEventSourceMappingStore store,
    FunctionManager functions,
    TimeProvider time,
    ILogger logger)
    : MappingRunner(mapping, invoker, time, logger)
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan IdleWait = TimeSpan.FromSeconds(1);

    private string StreamName => EventSourceArns.NameOf(Current.EventSourceArn);

    protected override void OnStart() => Run(SuperviseAsync);

    private async Task SuperviseAsync()
    {
        while (!Stopping.IsCancellationRequested)
        {
            try
            {
                if (await StartShardsAsync())
                {
                    return;
                }
            }
            catch (Exception ex) when (!Stopping.IsCancellationRequested)
            {
                await RecoverAsync(ex);
            }
        }
    }

    /// <summary>Starts a reader per shard from its checkpoint; false (after a pause) when the stream cannot be described.</summary>
    private async Task<bool> StartShardsAsync()
    {
        var stream = await streams.DescribeAsync(Current.EventSourceArn, Stopping);
        if (!stream.Ok)
        {
            LastProcessingResult = $"PROBLEM: {stream.Error.Type}: {stream.Error.Message}";
            await Delay(TimeSpan.FromSeconds(5), Stopping);
            return false;
        }

        var checkpoints = await store.CheckpointsAsync(Current.Uuid, Stopping);
        foreach (var shard in stream.Value.ShardIds)
        {
            var start = checkpoints.TryGetValue(shard, out var saved) ? saved : await StartOfAsync(streams, Current, shard, Stopping);
            Run(() => ReadShardAsync(shard, start, stream.Value.RetentionPeriodHours));
        }

        return true;
    }

    /// <summary>Where a shard's reading starts under the mapping's StartingPosition: after this sequence number (null: the oldest record).</summary>
    public static async Task<string?> StartOfAsync(StreamService streams, EventSourceMapping mapping, string shard, CancellationToken cancellationToken)
    {
        var name = EventSourceArns.NameOf(mapping.EventSourceArn);
        var start = mapping.StartingPosition switch
        {
            "LATEST" => await streams.LatestSequenceNumberAsync(name, shard, cancellationToken),
            "AT_TIMESTAMP" => await streams.SequenceNumberBeforeAsync(name, shard, mapping.StartingPositionTimestamp ?? DateTimeOffset.MinValue, cancellationToken),
            _ => Hayate.Kernel.Errors.Result.Of<string?>(null),
        };
        return start.Ok ? start.Value : null;
    }

    private async Task ReadShardAsync(string shard, string? after, int retentionHours)
    {
        while (await WaitUntilEnabledAsync())
        {
            try
            {
                var batch = await CollectAsync(Current, shard, after);
                if (batch.Count > 0)
                {
                    after = await ProcessAsync(shard, batch, after, TimeSpan.FromHours(retentionHours));
                }
            }
            catch (Exception ex) when (!Stopping.IsCancellationRequested)
            {
                await RecoverAsync(ex);

                // The batch is read again from the last checkpoint: in order, at least once.
                after = await SavedCheckpointAsync(shard, after);
            }
        }
    }

    /// <summary>The shard's checkpoint as stored; <paramref name="fallback"/> while the store cannot say (it is asked again after the next failure).</summary>
    private async Task<string?> SavedCheckpointAsync(string shard, string? fallback)
    {
        try
        {
            return (await store.CheckpointsAsync(Current.Uuid, Stopping)).GetValueOrDefault(shard, fallback);
        }
        catch (Exception ex) when (!Stopping.IsCancellationRequested)
        {
            await RecoverAsync(ex);
            return fallback;
        }
    }

    /// <summary>Up to BatchSize records after <paramref name="after"/>, gathered within the batching window; empty after an idle wait.</summary>
    private async Task<List<StreamRecord>> CollectAsync(EventSourceMapping current, string shard, string? after)
    {
        var batch = new List<StreamRecord>();
        var bytes = 0L;
        using var wake = UntilChangedOrStopped();
        var deadline = Time.GetUtcNow() + TimeSpan.FromSeconds(current.MaximumBatchingWindowInSeconds);
        while (batch.Count < current.BatchSize && !wake.IsCancellationRequested)
        {
            var read = await streams.ReadAsync(StreamName, shard, batch.Count > 0 ? batch[^1].SequenceNumber : after, current.BatchSize - batch.Count, Stopping);
            if (!read.Ok)
            {
                LastProcessingResult = $"PROBLEM: {read.Error.Type}: {read.Error.Message}";
                await Delay(TimeSpan.FromSeconds(5), wake.Token);
                return batch;
            }

            foreach (var record in read.Value)
            {
                bytes += (record.Data.Length * 4 / 3) + record.PartitionKey.Length + 512;
                if (batch.Count > 0 && bytes > MaxBatchBytes)
                {
                    return batch;
                }

                batch.Add(record);
            }

            var left = deadline - Time.GetUtcNow();
            if (batch.Count > 0 && (left <= TimeSpan.Zero || batch.Count >= current.BatchSize))
            {
                return batch;
            }

            // Nothing yet, or a window still open: wait for the next put (bounded, so a put between the read and the wait is not missed for long).
            try
            {
                await streams.WaitForRecordsAsync(StreamName, batch.Count == 0 ? IdleWait : TimeSpan.FromTicks(Math.Min(left.Ticks, IdleWait.Ticks)), wake.Token);
            }
            catch (OperationCanceledException) when (wake.IsCancellationRequested)
            {
            }

            if (batch.Count == 0)
            {
                deadline = Time.GetUtcNow() + TimeSpan.FromSeconds(current.MaximumBatchingWindowInSeconds);
            }
        }

        return batch;
    }

    /// <summary>Runs one batch to its end (success, or given up and reported); returns the shard's new checkpoint.</summary>
    private async Task<string?> ProcessAsync(string shard, List<StreamRecord> batch, string? checkpoint, TimeSpan retention)
    {
        // Halves of a bisected batch wait here, the earlier half on top.
        var pending = new Stack<(List<StreamRecord> Records, int Attempts)>();
        pending.Push((batch, 0));
        var delay = FirstRetryDelay;
        while (pending.TryPop(out var item))
        {
            var current = Current;
            if (Stopping.IsCancellationRequested || !current.Enabled)
            {
                // Not checkpointed: read again after a restart, or once enabled again.
                return checkpoint;
            }

            var (records, attempts) = item;
            var aged = AgedPrefix(current, records, retention);
            if (aged > 0)
            {
                await DiscardAsync(current, shard, records[..aged], "RecordAgeExceeded", attempts, null);
                checkpoint = await CheckpointAsync(shard, records[aged - 1].SequenceNumber);
                if (aged < records.Count)
                {
                    pending.Push((records[aged..], attempts));
                }

                continue;
            }

            var role = await RoleOfAsync(current);
            var (payload, fits) = Fit(records, r => EventOf(current, r, role));
            if (fits < records.Count)
            {
                // More than one invoke can carry: the first part now, the rest after it, in order.
                pending.Push((records[fits..], attempts));
                pending.Push((records[..fits], attempts));
                continue;
            }

            var result = await InvokeAsync(current, payload, CancellationToken.None);
            if (!result.Ok)
            {
                // Throttled, or Lambda could not run it: not an attempt; retried until the records age out.
                LastProcessingResult = Describe(result);
                pending.Push(item);
                await PauseAsync(delay);
                delay = Next(delay);
                continue;
            }

            var failedFrom = 0;
            if (result.Value.FunctionError is null)
            {
                if (!current.ReportsBatchItemFailures)
                {
                    failedFrom = -1;
                }
                else if (ItemFailures(result.Value.Payload, records.Select(r => r.SequenceNumber).ToHashSet(StringComparer.Ordinal)) is { } failed)
                {
                    // Everything before the first reported failure succeeded; the rest is retried from there.
                    failedFrom = failed.Count == 0 ? -1 : records.FindIndex(r => failed.Contains(r.SequenceNumber));
                }
            }

            if (failedFrom < 0)
            {
                LastProcessingResult = "OK";
                checkpoint = await CheckpointAsync(shard, records[^1].SequenceNumber);
                delay = FirstRetryDelay;
                continue;
            }

            LastProcessingResult = result.Value.FunctionError is null ? "PROBLEM: Function reported failed records" : Describe(result);
            if (failedFrom > 0)
            {
                checkpoint = await CheckpointAsync(shard, records[failedFrom - 1].SequenceNumber);
                records = records[failedFrom..];
            }

            if (current.BisectBatchOnFunctionError == true && result.Value.FunctionError is not null && records.Count > 1)
            {
                // Splitting is not a retry: each half starts with the attempts the batch had.
                var half = records.Count / 2;
                pending.Push((records[half..], attempts));
                pending.Push((records[..half], attempts));
                continue;
            }

            attempts++;
            if (current.MaximumRetryAttempts is { } retries and >= 0 && attempts > retries)
            {
                await DiscardAsync(current, shard, records, "RetryAttemptsExhausted", attempts, result.Value);
                checkpoint = await CheckpointAsync(shard, records[^1].SequenceNumber);
                delay = FirstRetryDelay;
                continue;
            }

            pending.Push((records, attempts));
            await PauseAsync(delay);
            delay = Next(delay);
        }

        return checkpoint;
    }

    /// <summary>Waits before a retry; a change of settings (disabling the mapping, say) ends the wait at once.</summary>
    private async Task PauseAsync(TimeSpan delay)
    {
        using var wake = UntilChangedOrStopped();
        await Delay(delay, wake.Token);
    }

    private static TimeSpan Next(TimeSpan delay) => delay * 2 > MaxRetryDelay ? MaxRetryDelay : delay * 2;

    /// <summary>How many records from the start are older than MaximumRecordAgeInSeconds or the stream's retention.</summary>
    private int AgedPrefix(EventSourceMapping current, List<StreamRecord> records, TimeSpan retention)
    {
        var now = Time.GetUtcNow();
        var limit = current.MaximumRecordAgeInSeconds is { } age and >= 0 ? TimeSpan.FromSeconds(Math.Min(age, retention.TotalSeconds)) : retention;
        var aged = 0;
        while (aged < records.Count && now - records[aged].ArrivedAt > limit)
        {
            aged++;
        }

        return aged;
    }

    private async Task<string> CheckpointAsync(string shard, string sequenceNumber)
    {
        await store.SetCheckpointAsync(Current.Uuid, shard, sequenceNumber, CancellationToken.None);
        return sequenceNumber;
    }

    /// <summary>The function's execution role, which Lambda reports as each record's invokeIdentityArn.</summary>
    private async Task<string> RoleOfAsync(EventSourceMapping current)
    {
        var function = await functions.ResolveForInvokeAsync(new FunctionRef(current.FunctionName, current.Qualifier), Stopping);
        return function.Ok ? function.Value.Role : "";
    }

    /// <summary>The event Lambda sends for Kinesis: one record per stream record, data in base64.</summary>
    private JsonObject EventOf(EventSourceMapping current, List<StreamRecord> records, string role)
    {
        var region = functions.Account.Region;
        var list = new JsonArray();
        foreach (var record in records)
        {
            list.Add(new JsonObject
            {
                ["kinesis"] = new JsonObject
                {
                    ["kinesisSchemaVersion"] = "1.0",
                    ["partitionKey"] = record.PartitionKey,
                    ["sequenceNumber"] = record.SequenceNumber,
                    ["data"] = Convert.ToBase64String(record.Data),
                    ["approximateArrivalTimestamp"] = record.ArrivedAt.ToUnixTimeMilliseconds() / 1000.0,
                },
                ["eventSource"] = "aws:kinesis",
                ["eventVersion"] = "1.0",
                ["eventID"] = $"{record.ShardId}:{record.SequenceNumber}",
                ["eventName"] = "aws:kinesis:record",
                ["invokeIdentityArn"] = role,
                ["awsRegion"] = region,
                ["eventSourceARN"] = current.EventSourceArn,
            });
        }

        return new JsonObject { ["Records"] = list };
    }

    /// <summary>Records given up on: their batch's description (not the records) goes to the OnFailure destination, as on Lambda.</summary>
    private async Task DiscardAsync(EventSourceMapping current, string shard, List<StreamRecord> records, string condition, int attempts, InvokeOutcome? outcome)
    {
        LogDiscarded(Logger, current.Uuid, records.Count, shard, condition);
        if (current.OnFailure is not { } destination)
        {
            return;
        }

        var responseContext = new JsonObject { ["statusCode"] = outcome is null ? 0 : 200 };
        if (outcome is not null)
        {
            responseContext["executedVersion"] = outcome.ExecutedVersion;
            responseContext["functionError"] = outcome.FunctionError;
        }

        var record = new JsonObject
        {
            ["requestContext"] = new JsonObject
            {
                ["requestId"] = Invoker.NewRequestId(),
                ["functionArn"] = functions.ArnOf(current.FunctionName, current.Qualifier),
                ["condition"] = condition,
                ["approximateInvokeCount"] = attempts,
            },
            ["responseContext"] = responseContext,
            ["version"] = "1.0",
            ["timestamp"] = AwsTime.Iso(Time.GetUtcNow()),
            ["KinesisBatchInfo"] = new JsonObject
            {
                ["shardId"] = shard,
                ["startSequenceNumber"] = records[0].SequenceNumber,
                ["endSequenceNumber"] = records[^1].SequenceNumber,
                ["approximateArrivalOfFirstRecord"] = AwsTime.Iso(records[0].ArrivedAt),
                ["approximateArrivalOfLastRecord"] = AwsTime.Iso(records[^1].ArrivedAt),
                ["batchSize"] = records.Count,
                ["streamArn"] = current.EventSourceArn,
            },
        };
        var sent = await queues.SendAsync(destination, record.ToJsonString(), null, CancellationToken.None);
        if (!sent.Ok)
        {
            LogDestinationFailed(Logger, current.Uuid, destination, sent.Error.Type, sent.Error.Message);
        }
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "event source mapping {Uuid}: {Count} records of {Shard} given up: {Condition}")]
    private static partial void LogDiscarded(ILogger logger, string uuid, int count, string shard, string condition);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Error, Message = "event source mapping {Uuid}: could not send to {Destination}: {ErrorType}: {Message}")]
    private static partial void LogDestinationFailed(ILogger logger, string uuid, string destination, string errorType, string message);
}
