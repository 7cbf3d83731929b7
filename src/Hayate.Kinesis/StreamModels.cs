using System.Globalization;
using Hayate.Kernel.Errors;

namespace Hayate.Kinesis;

/// <summary>One record as a reader sees it: its shard, sequence number, partition key, data and arrival time.</summary>
public sealed record StreamRecord(string ShardId, string SequenceNumber, string PartitionKey, byte[] Data, DateTimeOffset ArrivedAt);

/// <summary>A shard: its id, the slice of the 128-bit hash-key space it owns and the sequence number it starts at.</summary>
public sealed record StreamShard(string ShardId, UInt128 StartingHashKey, UInt128 EndingHashKey, string StartingSequenceNumber)
{
    public string StartingHashKeyText => StartingHashKey.ToString(CultureInfo.InvariantCulture);

    public string EndingHashKeyText => EndingHashKey.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A stream as DescribeStream shows it.</summary>
public sealed record StreamDescription(
    string Name,
    string Arn,
    string Status,
    string Mode,
    int RetentionPeriodHours,
    DateTimeOffset CreatedAt,
    IReadOnlyList<StreamShard> Shards)
{
    public IReadOnlyList<string> ShardIds => Shards.Select(s => s.ShardId).ToList();
}

/// <summary>Where a put landed.</summary>
public sealed record StreamPutResult(string ShardId, string SequenceNumber);

/// <summary>A record to put: data, partition key and, optionally, the hash key that picks its shard.</summary>
public sealed record StreamPut(byte[] Data, string PartitionKey, string? ExplicitHashKey);

/// <summary>What GetRecords returns: the records, the iterator for the next call and how far behind the tip they are.</summary>
public sealed record StreamRead(IReadOnlyList<StreamRecord> Records, string NextShardIterator, long MillisBehindLatest);

/// <summary>The errors of the Kinesis API, with the codes and messages Kinesis uses.</summary>
public static class StreamErrors
{
    public static AwsError NotFound(string name, string account) =>
        new("ResourceNotFoundException", 400, $"Stream {name} under account {account} not found.");

    public static AwsError ShardNotFound(string shard, string name, string account) =>
        new("ResourceNotFoundException", 400, $"Shard {shard} in stream {name} under account {account} does not exist");

    public static AwsError InUse(string name, string account) =>
        new("ResourceInUseException", 400, $"Stream {name} under account {account} already exists.");

    public static AwsError InvalidArgument(string message) => new("InvalidArgumentException", 400, message);

    public static AwsError LimitExceeded(string message) => new("LimitExceededException", 400, message);

    public static AwsError ExpiredIterator(string message) => new("ExpiredIteratorException", 400, message);

    /// <summary>A member outside the model's constraints, worded as AWS words it.</summary>
    public static AwsError Validation(string value, string member, string constraint) => AwsErrors.Validation(member, value, constraint);
}
