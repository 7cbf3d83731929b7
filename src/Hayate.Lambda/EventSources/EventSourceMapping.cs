using System.Text.Json.Serialization;

namespace Hayate.Lambda.EventSources;

/// <summary>The kinds of source a mapping can read: an SQS queue or a Kinesis stream.</summary>
public enum EventSourceKind
{
    Sqs,
    Kinesis,
}

/// <summary>
/// One event source mapping: which source feeds which function (name and optional qualifier), how
/// records are batched, and, for streams, where reading starts and how failures are retried.
/// Members a kind does not use stay null so that they are not reported for it.
/// </summary>
public sealed record EventSourceMapping
{
    public required string Uuid { get; init; }
    public required string EventSourceArn { get; init; }
    public required string FunctionName { get; init; }
    public string? Qualifier { get; init; }
    public required bool Enabled { get; init; }

    /// <summary>Creating, Enabling, Enabled, Disabling, Disabled, Updating or Deleting.</summary>
    public required string State { get; init; }
    public required int BatchSize { get; init; }
    public required int MaximumBatchingWindowInSeconds { get; init; }
    public IReadOnlyList<string> FunctionResponseTypes { get; init; } = [];
    public required DateTimeOffset LastModified { get; init; }

    // SQS only.
    public int? MaximumConcurrency { get; init; }

    // Streams only.
    public string? StartingPosition { get; init; }
    public DateTimeOffset? StartingPositionTimestamp { get; init; }
    public int? ParallelizationFactor { get; init; }
    public int? MaximumRecordAgeInSeconds { get; init; }
    public int? MaximumRetryAttempts { get; init; }
    public bool? BisectBatchOnFunctionError { get; init; }
    public int? TumblingWindowInSeconds { get; init; }
    public string? OnFailure { get; init; }

    [JsonIgnore]
    public EventSourceKind Kind => EventSourceArns.KindOf(EventSourceArn) ?? EventSourceKind.Kinesis;

    [JsonIgnore]
    public bool ReportsBatchItemFailures => FunctionResponseTypes.Contains("ReportBatchItemFailures");

    /// <summary>The state a transition settles in.</summary>
    [JsonIgnore]
    public string SettledState => Enabled ? "Enabled" : "Disabled";
}

/// <summary>What Create/UpdateEventSourceMapping ask for; null means "not given".</summary>
public sealed record EventSourceSettings
{
    public bool? Enabled { get; init; }
    public int? BatchSize { get; init; }
    public int? MaximumBatchingWindowInSeconds { get; init; }
    public IReadOnlyList<string>? FunctionResponseTypes { get; init; }
    public int? MaximumConcurrency { get; init; }
    public bool ScalingConfigGiven { get; init; }
    public string? StartingPosition { get; init; }
    public DateTimeOffset? StartingPositionTimestamp { get; init; }
    public int? ParallelizationFactor { get; init; }
    public int? MaximumRecordAgeInSeconds { get; init; }
    public int? MaximumRetryAttempts { get; init; }
    public bool? BisectBatchOnFunctionError { get; init; }
    public int? TumblingWindowInSeconds { get; init; }

    /// <summary>The OnFailure destination; "" removes it.</summary>
    public string? OnFailure { get; init; }

    /// <summary>Set when the request named an OnSuccess destination (event source mappings of these kinds have none).</summary>
    public bool OnSuccessGiven { get; init; }
}

public static class EventSourceArns
{
    /// <summary>The kind of source an ARN names, or null when Hayate cannot read it.</summary>
    public static EventSourceKind? KindOf(string arn) =>
        arn.StartsWith("arn:aws:sqs:", StringComparison.Ordinal) ? EventSourceKind.Sqs
        : arn.StartsWith("arn:aws:kinesis:", StringComparison.Ordinal) && arn.Contains(":stream/", StringComparison.Ordinal) ? EventSourceKind.Kinesis
        : null;

    /// <summary>The last part of an ARN: a queue's name, or a stream's after "stream/".</summary>
    public static string NameOf(string arn)
    {
        var colon = arn.LastIndexOf(':');
        var tail = colon < 0 ? arn : arn[(colon + 1)..];
        return tail.StartsWith("stream/", StringComparison.Ordinal) ? tail["stream/".Length..] : tail;
    }
}
