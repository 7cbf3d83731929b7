using System.Globalization;
using Hayate.Kernel.Errors;

namespace Hayate.Lambda.EventSources;

/// <summary>
/// The model's constraints and Lambda's rules for event source mappings: ranges, defaults per kind,
/// and which members a kind accepts. Applies a create or update request to a mapping, or says why not.
/// </summary>
public static class EventSourceMappingRules
{
    public const int DefaultSqsBatchSize = 10;
    public const int DefaultStreamBatchSize = 100;

    /// <summary>
    /// The mapping that <paramref name="settings"/> make of <paramref name="mapping"/>: a new one
    /// (<paramref name="creating"/>: its settings are all defaults) or one being updated.
    /// <paramref name="fifo"/>: the source is a FIFO queue.
    /// </summary>
    public static Result<EventSourceMapping> Apply(EventSourceMapping mapping, bool creating, EventSourceSettings settings, bool fifo)
    {
        if (CheckRanges(settings) is { } invalid)
        {
            return invalid;
        }

        var current = creating ? null : mapping;
        return mapping.Kind == EventSourceKind.Sqs ? ApplySqs(current, mapping, settings, fifo) : ApplyStream(current, mapping, settings);
    }

    private static Result<EventSourceMapping> ApplySqs(EventSourceMapping? current, EventSourceMapping created, EventSourceSettings s, bool fifo)
    {
        if (s.StartingPosition is not null || s.StartingPositionTimestamp is not null)
        {
            return LambdaErrors.InvalidParameter("StartingPosition is not valid for SQS event sources.");
        }

        foreach (var (name, given) in new[]
        {
            ("ParallelizationFactor", s.ParallelizationFactor is not null),
            ("MaximumRecordAgeInSeconds", s.MaximumRecordAgeInSeconds is not null),
            ("MaximumRetryAttempts", s.MaximumRetryAttempts is not null),
            ("BisectBatchOnFunctionError", s.BisectBatchOnFunctionError is not null),
            ("TumblingWindowInSeconds", s.TumblingWindowInSeconds is not null),
            ("DestinationConfig", s.OnFailure is { Length: > 0 } || s.OnSuccessGiven),
        })
        {
            if (given)
            {
                return Unsupported(name);
            }
        }

        var mapping = (current ?? created) with
        {
            Enabled = s.Enabled ?? current?.Enabled ?? true,
            BatchSize = s.BatchSize ?? current?.BatchSize ?? DefaultSqsBatchSize,
            MaximumBatchingWindowInSeconds = s.MaximumBatchingWindowInSeconds ?? current?.MaximumBatchingWindowInSeconds ?? 0,
            FunctionResponseTypes = s.FunctionResponseTypes ?? current?.FunctionResponseTypes ?? [],
            MaximumConcurrency = s.ScalingConfigGiven ? s.MaximumConcurrency : current?.MaximumConcurrency,
        };
        if (fifo && mapping.BatchSize > 10)
        {
            return LambdaErrors.InvalidParameter("Batch size for FIFO queues must be between 1 and 10.");
        }

        if (fifo && mapping.MaximumBatchingWindowInSeconds > 0)
        {
            return LambdaErrors.InvalidParameter("Batching window is not supported for FIFO queues.");
        }

        if (mapping.BatchSize > 10 && mapping.MaximumBatchingWindowInSeconds < 1)
        {
            return LambdaErrors.InvalidParameter("Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10");
        }

        return mapping;
    }

    private static Result<EventSourceMapping> ApplyStream(EventSourceMapping? current, EventSourceMapping created, EventSourceSettings s)
    {
        if (s.ScalingConfigGiven)
        {
            return Unsupported("ScalingConfig");
        }

        if (s.OnSuccessGiven)
        {
            return LambdaErrors.InvalidParameter("Unsupported OnSuccess destination for given event source mapping type; use OnFailure.");
        }

        if (s.ParallelizationFactor is > 1)
        {
            return LambdaErrors.InvalidParameter("Hayate reads one batch per shard at a time; ParallelizationFactor above 1 is not supported yet. Add shards to the stream instead.");
        }

        if (s.TumblingWindowInSeconds is > 0)
        {
            return LambdaErrors.InvalidParameter("Hayate does not support tumbling windows yet; leave TumblingWindowInSeconds at 0.");
        }

        if (current is null)
        {
            if (s.StartingPosition is null)
            {
                return LambdaErrors.InvalidParameter("StartingPosition is required for Kinesis event sources: TRIM_HORIZON, LATEST or AT_TIMESTAMP.");
            }

            if ((s.StartingPosition == "AT_TIMESTAMP") != (s.StartingPositionTimestamp is not null))
            {
                return LambdaErrors.InvalidParameter(s.StartingPositionTimestamp is null
                    ? "StartingPositionTimestamp must be provided when StartingPosition is AT_TIMESTAMP."
                    : "StartingPositionTimestamp is only valid when StartingPosition is AT_TIMESTAMP.");
            }
        }

        if (s.OnFailure is { Length: > 0 } destination && !destination.StartsWith("arn:aws:sqs:", StringComparison.Ordinal))
        {
            return LambdaErrors.InvalidParameter($"Hayate sends discarded batches to SQS queues only (SNS topics and S3 buckets are not supported yet): {destination}");
        }

        var mapping = (current ?? created) with
        {
            Enabled = s.Enabled ?? current?.Enabled ?? true,
            BatchSize = s.BatchSize ?? current?.BatchSize ?? DefaultStreamBatchSize,
            MaximumBatchingWindowInSeconds = s.MaximumBatchingWindowInSeconds ?? current?.MaximumBatchingWindowInSeconds ?? 0,
            FunctionResponseTypes = s.FunctionResponseTypes ?? current?.FunctionResponseTypes ?? [],
            StartingPosition = current?.StartingPosition ?? s.StartingPosition,
            StartingPositionTimestamp = current?.StartingPositionTimestamp ?? s.StartingPositionTimestamp,
            ParallelizationFactor = s.ParallelizationFactor ?? current?.ParallelizationFactor ?? 1,
            MaximumRecordAgeInSeconds = s.MaximumRecordAgeInSeconds ?? current?.MaximumRecordAgeInSeconds ?? -1,
            MaximumRetryAttempts = s.MaximumRetryAttempts ?? current?.MaximumRetryAttempts ?? -1,
            BisectBatchOnFunctionError = s.BisectBatchOnFunctionError ?? current?.BisectBatchOnFunctionError ?? false,
            TumblingWindowInSeconds = 0,
            OnFailure = s.OnFailure is null ? current?.OnFailure : s.OnFailure.Length == 0 ? null : s.OnFailure,
        };
        return mapping;
    }

    private static AwsError? CheckRanges(EventSourceSettings s)
    {
        if (s.BatchSize is { } batch && batch is < 1 or > 10_000)
        {
            return OutOfRange("batchSize", batch, 1, 10_000);
        }

        if (s.MaximumBatchingWindowInSeconds is { } window && window is < 0 or > 300)
        {
            return OutOfRange("maximumBatchingWindowInSeconds", window, 0, 300);
        }

        if (s.ParallelizationFactor is { } parallel && parallel is < 1 or > 10)
        {
            return OutOfRange("parallelizationFactor", parallel, 1, 10);
        }

        if (s.MaximumRetryAttempts is { } retries && retries is < -1 or > 10_000)
        {
            return OutOfRange("maximumRetryAttempts", retries, -1, 10_000);
        }

        if (s.MaximumRecordAgeInSeconds is { } age)
        {
            if (age is < -1 or > 604_800)
            {
                return OutOfRange("maximumRecordAgeInSeconds", age, -1, 604_800);
            }

            if (age is >= 0 and < 60)
            {
                return LambdaErrors.InvalidParameter("MaximumRecordAgeInSeconds must be -1 (no limit) or between 60 and 604800.");
            }
        }

        if (s.TumblingWindowInSeconds is { } tumbling && tumbling is < 0 or > 900)
        {
            return OutOfRange("tumblingWindowInSeconds", tumbling, 0, 900);
        }

        if (s.MaximumConcurrency is { } concurrency && concurrency is < 2 or > 1000)
        {
            return OutOfRange("scalingConfig.maximumConcurrency", concurrency, 2, 1000);
        }

        if (s.StartingPosition is { } position && position is not ("TRIM_HORIZON" or "LATEST" or "AT_TIMESTAMP"))
        {
            return AwsErrors.Validation("startingPosition", position, "Member must satisfy enum value set: [TRIM_HORIZON, LATEST, AT_TIMESTAMP]");
        }

        if (s.FunctionResponseTypes is { } types)
        {
            if (types.Count > 1)
            {
                return AwsErrors.Validation("functionResponseTypes", string.Join(",", types), "Member must have length less than or equal to 1");
            }

            if (types.Any(t => t != "ReportBatchItemFailures"))
            {
                return AwsErrors.Validation("functionResponseTypes", string.Join(",", types), "Member must satisfy enum value set: [ReportBatchItemFailures]");
            }
        }

        return null;
    }

    private static AwsError OutOfRange(string member, int value, int min, int max) =>
        AwsErrors.Validation(member, value.ToString(CultureInfo.InvariantCulture),
            value < min ? $"Member must have value greater than or equal to {min}" : $"Member must have value less than or equal to {max}");

    private static AwsError Unsupported(string member) =>
        LambdaErrors.InvalidParameter($"Unsupported {member} parameter for given event source mapping type.");
}
