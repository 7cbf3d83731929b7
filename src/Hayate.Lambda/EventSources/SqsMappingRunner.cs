using System.Text.Json.Nodes;
using Hayate.Lambda.Invoking;
using Hayate.Sqs;
using Microsoft.Extensions.Logging;

namespace Hayate.Lambda.EventSources;

/// <summary>
/// Polls an SQS queue for a function, as Lambda does: long-polls for messages, gathers a batch of up to
/// BatchSize within MaximumBatchingWindowInSeconds, invokes the function with the SQS event, and deletes
/// the messages that succeeded. Failed messages are left to reappear after the visibility timeout (and
/// to go to the queue's dead-letter queue by its redrive policy). One poller runs while the queue is
/// idle; each full batch adds one, up to ScalingConfig.MaximumConcurrency; an empty poll retires one.
/// </summary>
internal sealed class SqsMappingRunner(EventSourceMapping mapping, Invoker invoker, QueueService queues, int defaultMaximumConcurrency, TimeProvider time, ILogger logger)
    : MappingRunner(mapping, invoker, time, logger)
{
    private int _pollers;

    public int Pollers => Volatile.Read(ref _pollers);

    protected override void OnStart() => TrySpawn(force: true);

    private void TrySpawn(bool force)
    {
        while (true)
        {
            var pollers = Volatile.Read(ref _pollers);
            if (!force && pollers >= (Current.MaximumConcurrency ?? defaultMaximumConcurrency))
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _pollers, pollers + 1, pollers) == pollers)
            {
                break;
            }
        }

        if (!Run(PollAsync))
        {
            Interlocked.Decrement(ref _pollers);
        }
    }

    /// <summary>Retires the calling poller if it is not the last; true when it should end.</summary>
    private bool TryRetire()
    {
        while (true)
        {
            var pollers = Volatile.Read(ref _pollers);
            if (pollers <= 1)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _pollers, pollers - 1, pollers) == pollers)
            {
                return true;
            }
        }
    }

    private async Task PollAsync()
    {
        var retired = false;
        try
        {
            while (await WaitUntilEnabledAsync())
            {
                try
                {
                    if (await PollOnceAsync())
                    {
                        retired = true;
                        return;
                    }
                }
                catch (Exception ex) when (!Stopping.IsCancellationRequested)
                {
                    // Received messages that were not deleted reappear after their visibility timeout.
                    await RecoverAsync(ex);
                }
            }
        }
        finally
        {
            if (!retired)
            {
                Interlocked.Decrement(ref _pollers);
            }
        }
    }

    /// <summary>One receive-and-invoke round; true when this poller retired.</summary>
    private async Task<bool> PollOnceAsync()
    {
        var current = Current;
        var batch = await CollectAsync(current);
        if (batch is null)
        {
            await Delay(ProblemBackoff, Stopping);
            return false;
        }

        if (batch.Count == 0)
        {
            return TryRetire();
        }

        if (batch.Count >= Math.Min(current.BatchSize, 10))
        {
            // A full batch: there is a backlog, so one more poller (bounded by MaximumConcurrency).
            TrySpawn(force: false);
        }

        await ProcessAsync(current, batch);
        return Pollers > (Current.MaximumConcurrency ?? defaultMaximumConcurrency) && TryRetire();
    }

    /// <summary>Up to BatchSize messages gathered within the batching window; null when the queue cannot be read.</summary>
    private async Task<List<QueueMessage>?> CollectAsync(EventSourceMapping current)
    {
        var queue = current.EventSourceArn;
        var batch = new List<QueueMessage>();
        var bytes = 0;
        using var wake = UntilChangedOrStopped();
        try
        {
            var window = TimeSpan.FromSeconds(current.MaximumBatchingWindowInSeconds);
            var deadline = Time.GetUtcNow() + window;
            while (batch.Count < current.BatchSize && bytes < MaxBatchBytes)
            {
                var left = deadline - Time.GetUtcNow();
                if (batch.Count > 0 && left <= TimeSpan.Zero)
                {
                    break;
                }

                // The first receive long-polls; later ones wait at most what is left of the window.
                var wait = batch.Count == 0 ? QueueService.MaxWaitSeconds : (int)Math.Clamp(Math.Ceiling(left.TotalSeconds), 0, QueueService.MaxWaitSeconds);
                var received = await queues.ReceiveAsync(queue, new QueueReceiveOptions { MaxMessages = Math.Min(10, current.BatchSize - batch.Count), WaitTimeSeconds = wait }, wake.Token);
                if (!received.Ok)
                {
                    LastProcessingResult = $"PROBLEM: {received.Error.Type}: {received.Error.Message}";
                    return batch.Count > 0 ? batch : null;
                }

                if (batch.Count == 0)
                {
                    deadline = Time.GetUtcNow() + window;
                }

                batch.AddRange(received.Value);
                bytes += received.Value.Sum(m => m.Body.Length * 3);
                if (received.Value.Count == 0 || window == TimeSpan.Zero)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (wake.IsCancellationRequested)
        {
            // Settings changed or stopping: what was received is processed (or reappears after its visibility timeout).
        }

        return batch;
    }

    private async Task ProcessAsync(EventSourceMapping current, List<QueueMessage> batch)
    {
        var (payload, fits) = Fit(batch, b => EventOf(current, b));
        if (fits < batch.Count)
        {
            // More than one invoke can carry: the rest goes back at once, for the next batch.
            foreach (var message in batch[fits..])
            {
                await queues.ChangeVisibilityAsync(current.EventSourceArn, message.ReceiptHandle, 0, CancellationToken.None);
            }

            batch = batch[..fits];
        }

        var result = await InvokeAsync(current, payload, CancellationToken.None);
        if (!result.Ok || result.Value.FunctionError is not null)
        {
            LastProcessingResult = Describe(result);
            if (!result.Ok && result.Error.Status == 429)
            {
                // Throttled: the messages go back at once rather than after the visibility timeout.
                foreach (var message in batch)
                {
                    await queues.ChangeVisibilityAsync(current.EventSourceArn, message.ReceiptHandle, 0, CancellationToken.None);
                }

                await Delay(ProblemBackoff, Stopping);
            }

            return;
        }

        var done = batch;
        if (current.ReportsBatchItemFailures)
        {
            var failed = ItemFailures(result.Value.Payload, batch.Select(m => m.MessageId).ToHashSet(StringComparer.Ordinal));
            if (failed is null)
            {
                LastProcessingResult = "PROBLEM: Function response is not a valid batchItemFailures list; the whole batch failed";
                return;
            }

            done = batch.Where(m => !failed.Contains(m.MessageId)).ToList();
        }

        if (done.Count > 0)
        {
            await queues.DeleteMessagesAsync(current.EventSourceArn, done.Select(m => m.ReceiptHandle).ToList(), CancellationToken.None);
        }

        LastProcessingResult = "OK";
    }

    /// <summary>The event Lambda sends for SQS: one record per message, attributes in Lambda's camelCase shape.</summary>
    private JsonObject EventOf(EventSourceMapping current, List<QueueMessage> batch)
    {
        var records = new JsonArray();
        foreach (var message in batch)
        {
            var system = new JsonObject();
            foreach (var name in (string[])["ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp", "SequenceNumber", "MessageGroupId", "MessageDeduplicationId"])
            {
                if (message.SystemAttributes.TryGetValue(name, out var value))
                {
                    system[name] = value;
                }
            }

            var attributes = new JsonObject();
            foreach (var (name, value) in message.Attributes)
            {
                var attribute = new JsonObject();
                if (value.StringValue is not null)
                {
                    attribute["stringValue"] = value.StringValue;
                }

                if (value.BinaryValue is not null)
                {
                    attribute["binaryValue"] = Convert.ToBase64String(value.BinaryValue);
                }

                attribute["stringListValues"] = new JsonArray();
                attribute["binaryListValues"] = new JsonArray();
                attribute["dataType"] = value.DataType;
                attributes[name] = attribute;
            }

            var record = new JsonObject
            {
                ["messageId"] = message.MessageId,
                ["receiptHandle"] = message.ReceiptHandle,
                ["body"] = message.Body,
                ["attributes"] = system,
                ["messageAttributes"] = attributes,
                ["md5OfBody"] = message.Md5OfBody,
                ["eventSource"] = "aws:sqs",
                ["eventSourceARN"] = current.EventSourceArn,
                ["awsRegion"] = queues.Account.Region,
            };
            if (message.Md5OfAttributes is { } md5)
            {
                record.Insert(5, "md5OfMessageAttributes", md5);
            }

            records.Add(record);
        }

        return new JsonObject { ["Records"] = records };
    }
}
