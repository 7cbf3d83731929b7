using System.Text.Json.Serialization;

namespace Hayate.Kinesis;

// The Kinesis shapes Hayate speaks, member names exactly as in the botocore model (kinesis 2013-12-02, JSON 1.1).
// Timestamps travel as epoch seconds (JSON numbers); blobs as base64 strings.

public sealed class KinesisStreamModeDetails
{
    public string? StreamMode { get; set; }
}

public sealed class KinesisShardFilter
{
    public string? Type { get; set; }
    public string? ShardId { get; set; }
    public double? Timestamp { get; set; }
}

public sealed class KinesisPutEntry
{
    public byte[]? Data { get; set; }
    public string? PartitionKey { get; set; }
    public string? ExplicitHashKey { get; set; }
}

public sealed class KinesisRequest
{
    public string? StreamName { get; set; }
    public string? StreamARN { get; set; }
    public string? StreamId { get; set; }
    public int? ShardCount { get; set; }
    public KinesisStreamModeDetails? StreamModeDetails { get; set; }
    public Dictionary<string, string>? Tags { get; set; }
    public int? WarmThroughputMiBps { get; set; }
    public int? MaxRecordSizeInKiB { get; set; }
    public bool? EnforceConsumerDeletion { get; set; }
    public int? Limit { get; set; }
    public string? ExclusiveStartStreamName { get; set; }
    public string? ExclusiveStartShardId { get; set; }
    public string? NextToken { get; set; }
    public int? MaxResults { get; set; }
    public double? StreamCreationTimestamp { get; set; }
    public KinesisShardFilter? ShardFilter { get; set; }
    public byte[]? Data { get; set; }
    public string? PartitionKey { get; set; }
    public string? ExplicitHashKey { get; set; }
    public string? SequenceNumberForOrdering { get; set; }
    public List<KinesisPutEntry>? Records { get; set; }
    public string? ShardId { get; set; }
    public string? ShardIteratorType { get; set; }
    public string? StartingSequenceNumber { get; set; }
    public double? Timestamp { get; set; }
    public string? ShardIterator { get; set; }
}

public sealed class KinesisHashKeyRange
{
    public required string StartingHashKey { get; set; }
    public required string EndingHashKey { get; set; }
}

public sealed class KinesisSequenceNumberRange
{
    public required string StartingSequenceNumber { get; set; }
    public string? EndingSequenceNumber { get; set; }
}

public sealed class KinesisShard
{
    public required string ShardId { get; set; }
    public required KinesisHashKeyRange HashKeyRange { get; set; }
    public required KinesisSequenceNumberRange SequenceNumberRange { get; set; }
}

public sealed class KinesisEnhancedMetrics
{
    public List<string> ShardLevelMetrics { get; set; } = [];
}

public sealed class KinesisStreamDescription
{
    public required string StreamName { get; set; }
    public required string StreamARN { get; set; }
    public required string StreamStatus { get; set; }
    public required KinesisStreamModeDetails StreamModeDetails { get; set; }
    public required List<KinesisShard> Shards { get; set; }
    public bool HasMoreShards { get; set; }
    public int RetentionPeriodHours { get; set; }
    public double StreamCreationTimestamp { get; set; }
    public List<KinesisEnhancedMetrics> EnhancedMonitoring { get; set; } = [new()];
    public string EncryptionType { get; set; } = "NONE";
}

public sealed class KinesisStreamDescriptionSummary
{
    public required string StreamName { get; set; }
    public required string StreamARN { get; set; }
    public required string StreamStatus { get; set; }
    public required KinesisStreamModeDetails StreamModeDetails { get; set; }
    public int RetentionPeriodHours { get; set; }
    public double StreamCreationTimestamp { get; set; }
    public List<KinesisEnhancedMetrics> EnhancedMonitoring { get; set; } = [new()];
    public string EncryptionType { get; set; } = "NONE";
    public int OpenShardCount { get; set; }
    public int ConsumerCount { get; set; }
}

public sealed class KinesisDescribeStreamResult
{
    public required KinesisStreamDescription StreamDescription { get; set; }
}

public sealed class KinesisDescribeStreamSummaryResult
{
    public required KinesisStreamDescriptionSummary StreamDescriptionSummary { get; set; }
}

public sealed class KinesisStreamSummary
{
    public required string StreamName { get; set; }
    public required string StreamARN { get; set; }
    public required string StreamStatus { get; set; }
    public required KinesisStreamModeDetails StreamModeDetails { get; set; }
    public double StreamCreationTimestamp { get; set; }
}

public sealed class KinesisListStreamsResult
{
    public List<string> StreamNames { get; set; } = [];
    public bool HasMoreStreams { get; set; }
    public string? NextToken { get; set; }
    public List<KinesisStreamSummary> StreamSummaries { get; set; } = [];
}

public sealed class KinesisListShardsResult
{
    public List<KinesisShard> Shards { get; set; } = [];
    public string? NextToken { get; set; }
}

public sealed class KinesisPutRecordResult
{
    public string? ShardId { get; set; }
    public string? SequenceNumber { get; set; }
    public string? EncryptionType { get; set; }
}

public sealed class KinesisPutRecordsResult
{
    public int FailedRecordCount { get; set; }
    public List<KinesisPutRecordResult> Records { get; set; } = [];
    public string EncryptionType { get; set; } = "NONE";
}

public sealed class KinesisShardIteratorResult
{
    public required string ShardIterator { get; set; }
}

public sealed class KinesisRecord
{
    public required string SequenceNumber { get; set; }
    public double ApproximateArrivalTimestamp { get; set; }
    public required byte[] Data { get; set; }
    public required string PartitionKey { get; set; }
}

public sealed class KinesisGetRecordsResult
{
    public List<KinesisRecord> Records { get; set; } = [];
    public string? NextShardIterator { get; set; }
    public long MillisBehindLatest { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(KinesisRequest))]
[JsonSerializable(typeof(KinesisDescribeStreamResult))]
[JsonSerializable(typeof(KinesisDescribeStreamSummaryResult))]
[JsonSerializable(typeof(KinesisListStreamsResult))]
[JsonSerializable(typeof(KinesisListShardsResult))]
[JsonSerializable(typeof(KinesisPutRecordResult))]
[JsonSerializable(typeof(KinesisPutRecordsResult))]
[JsonSerializable(typeof(KinesisShardIteratorResult))]
[JsonSerializable(typeof(KinesisGetRecordsResult))]
internal sealed partial class KinesisJson : JsonSerializerContext;
