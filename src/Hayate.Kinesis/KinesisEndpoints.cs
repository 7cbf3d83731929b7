using System.Globalization;
using System.Text;
using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.Json;
using Hayate.Kernel.Time;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Kinesis;

/// <summary>The Kinesis operations Hayate speaks (JSON 1.1, X-Amz-Target Kinesis_20131202.*), over <see cref="StreamService"/>.</summary>
public static class KinesisEndpoints
{
    private const int MaxListLimit = 10000;

    public static JsonProtocolService Service { get; } = new()
    {
        TargetPrefix = "Kinesis_20131202",
        JsonVersion = "1.1",

        // PutRecords: 5 MiB of data, as base64 (4/3 larger) with JSON around it.
        MaxRequestSize = 8 * 1024 * 1024,
        Operations = new Dictionary<string, JsonOperation>(StringComparer.Ordinal)
        {
            ["CreateStream"] = Wrap(CreateStream),
            ["DeleteStream"] = Wrap(DeleteStream),
            ["ListStreams"] = Wrap(ListStreams),
            ["DescribeStream"] = Wrap(DescribeStream),
            ["DescribeStreamSummary"] = Wrap(DescribeStreamSummary),
            ["ListShards"] = Wrap(ListShards),
            ["PutRecord"] = Wrap(PutRecord),
            ["PutRecords"] = Wrap(PutRecords),
            ["GetShardIterator"] = Wrap(GetShardIterator),
            ["GetRecords"] = Wrap(GetRecords),
        },
    };

    private static JsonOperation Wrap(Func<JsonRequest, KinesisRequest, StreamService, Task<Result<JsonReply>>> operation) => async request =>
    {
        var parsed = request.Parse(KinesisJson.Default.KinesisRequest);
        return parsed.Ok ? await operation(request, parsed.Value, request.Services.GetRequiredService<StreamService>()) : parsed.Error;
    };

    private static async Task<Result<JsonReply>> CreateStream(JsonRequest request, KinesisRequest input, StreamService streams)
    {
        if (input.StreamName is null)
        {
            return Missing("streamName");
        }

        var unsupported = input.Tags is not null ? "Tags" : input.WarmThroughputMiBps is not null ? "WarmThroughputMiBps" : input.MaxRecordSizeInKiB is not null ? "MaxRecordSizeInKiB" : null;
        if (unsupported is not null)
        {
            return StreamErrors.InvalidArgument($"{unsupported} is not supported by Hayate's stream service; create the stream without it.");
        }

        var created = await streams.CreateAsync(input.StreamName, input.ShardCount, input.StreamModeDetails?.StreamMode, request.CancellationToken);
        return created.Ok ? JsonReply.Empty : created.Error;
    }

    private static async Task<Result<JsonReply>> DeleteStream(JsonRequest request, KinesisRequest input, StreamService streams)
    {
        var name = streams.NameOf(input.StreamName, input.StreamARN);
        if (!name.Ok)
        {
            return name.Error;
        }

        var deleted = await streams.DeleteAsync(name.Value, request.CancellationToken);
        return deleted.Ok ? JsonReply.Empty : deleted.Error;
    }

    private static async Task<Result<JsonReply>> ListStreams(JsonRequest request, KinesisRequest input, StreamService streams)
    {
        if (input.Limit is < 1 or > MaxListLimit)
        {
            return StreamErrors.Validation(Text(input.Limit.Value), "limit", $"Member must have value between 1 and {MaxListLimit}");
        }

        var after = input.ExclusiveStartStreamName;
        if (input.NextToken is not null)
        {
            if (Decode(input.NextToken) is not { } token)
            {
                return StreamErrors.InvalidArgument($"Invalid NextToken: {input.NextToken}");
            }

            after = token;
        }

        var (list, more) = await streams.ListAsync(after, input.Limit ?? 100, request.CancellationToken);
        return JsonReply.Of(new KinesisListStreamsResult
        {
            StreamNames = list.Select(s => s.Name).ToList(),
            HasMoreStreams = more,
            NextToken = more ? Encode(list[^1].Name) : null,
            StreamSummaries = list.Select(s => new KinesisStreamSummary
            {
                StreamName = s.Name,
                StreamARN = s.Arn,
                StreamStatus = s.Status,
                StreamModeDetails = new() { StreamMode = s.Mode },
                StreamCreationTimestamp = Seconds(s.CreatedAt),
            }).ToList(),
        }, KinesisJson.Default.KinesisListStreamsResult);
    }

    private static async Task<Result<JsonReply>> DescribeStream(JsonRequest request, KinesisRequest input, StreamService streams)
    {
        if (input.Limit is < 1 or > MaxListLimit)
        {
            return StreamErrors.Validation(Text(input.Limit.Value), "limit", $"Member must have value between 1 and {MaxListLimit}");
        }

        var stream = await FindAsync(request, input, streams);
        if (!stream.Ok)
        {
            return stream.Error;
        }

        var s = stream.Value;
        var shards = s.Shards.Where(x => input.ExclusiveStartShardId is null || string.CompareOrdinal(x.ShardId, input.ExclusiveStartShardId) > 0).ToList();
        var limit = input.Limit ?? 100;
        return JsonReply.Of(new KinesisDescribeStreamResult
        {
            StreamDescription = new()
            {
                StreamName = s.Name,
                StreamARN = s.Arn,
                StreamStatus = s.Status,
                StreamModeDetails = new() { StreamMode = s.Mode },
                Shards = shards.Take(limit).Select(ShardOf).ToList(),
                HasMoreShards = shards.Count > limit,
                RetentionPeriodHours = s.RetentionPeriodHours,
                StreamCreationTimestamp = Seconds(s.CreatedAt),
            },
        }, KinesisJson.Default.KinesisDescribeStreamResult);
    }

    private static async Task<Result<JsonReply>> DescribeStreamSummary(JsonRequest request, KinesisRequest input, StreamService streams)
    {
        var stream = await FindAsync(request, input, streams);
        if (!stream.Ok)
        {
            return stream.Error;
        }

        var s = stream.Value;
        return JsonReply.Of(new KinesisDescribeStreamSummaryResult
        {
            StreamDescriptionSummary = new()
            {
                StreamName = s.Name,
                StreamARN = s.Arn,
                StreamStatus = s.Status,
                StreamModeDetails = new() { StreamMode = s.Mode },
                RetentionPeriodHours = s.RetentionPeriodHours,
                StreamCreationTimestamp = Seconds(s.CreatedAt),
                OpenShardCount = s.Shards.Count,
            },
        }, KinesisJson.Default.KinesisDescribeStreamSummaryResult);
    }

    private static async Task<Result<JsonReply>> ListShards(JsonRequest request, KinesisRequest input, StreamService streams)
    {
        if (input.MaxResults is < 1 or > MaxListLimit)
        {
            return StreamErrors.Validation(Text(input.MaxResults.Value), "maxResults", $"Member must have value between 1 and {MaxListLimit}");
        }

        var name = input.StreamName;
        var after = input.ExclusiveStartShardId;
        if (input.NextToken is not null)
        {
            if (input.StreamName is not null || input.StreamARN is not null)
            {
                return StreamErrors.InvalidArgument("NextToken and StreamName cannot be provided together.");
            }

            if (Decode(input.NextToken) is not { } token || token.Split('|') is not [var tokenStream, var tokenShard])
            {
                return StreamErrors.InvalidArgument($"Invalid NextToken: {input.NextToken}");
            }

            (name, after) = (tokenStream, tokenShard);
        }

        if (input.ShardFilter is { } filter)
        {
            var needsShard = filter.Type == "AFTER_SHARD_ID";
            var needsTime = filter.Type is "AT_TIMESTAMP" or "FROM_TIMESTAMP";
            if (filter.Type is not ("AFTER_SHARD_ID" or "AT_TRIM_HORIZON" or "FROM_TRIM_HORIZON" or "AT_LATEST" or "AT_TIMESTAMP" or "FROM_TIMESTAMP"))
            {
                return StreamErrors.Validation(filter.Type ?? "null", "shardFilter.type", "Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]");
            }

            if (needsShard != (filter.ShardId is not null) || needsTime != filter.Timestamp.HasValue)
            {
                return StreamErrors.InvalidArgument($"ShardFilter of type {filter.Type} {(needsShard ? "needs a ShardId" : needsTime ? "needs a Timestamp" : "takes neither ShardId nor Timestamp")}.");
            }

            // Hayate never splits or merges shards: every shard is open, so every filter but AFTER_SHARD_ID keeps them all.
            if (needsShard && (after is null || string.CompareOrdinal(filter.ShardId, after) > 0))
            {
                after = filter.ShardId;
            }
        }

        var stream = await FindAsync(request, new KinesisRequest { StreamName = name, StreamARN = input.NextToken is null ? input.StreamARN : null }, streams);
        if (!stream.Ok)
        {
            return stream.Error;
        }

        var shards = stream.Value.Shards.Where(x => after is null || string.CompareOrdinal(x.ShardId, after) > 0).ToList();
        var limit = input.MaxResults ?? 1000;
        var page = shards.Take(limit).ToList();
        return JsonReply.Of(new KinesisListShardsResult
        {
            Shards = page.Select(ShardOf).ToList(),
            NextToken = shards.Count > limit ? Encode($"{stream.Value.Name}|{page[^1].ShardId}") : null,
        }, KinesisJson.Default.KinesisListShardsResult);
    }

    private static async Task<Result<JsonReply>> PutRecord(JsonRequest request, KinesisRequest input, StreamService streams)
    {
        var name = streams.NameOf(input.StreamName, input.StreamARN);
        if (!name.Ok)
        {
            return name.Error;
        }

        var record = RecordOf(input.Data, input.PartitionKey, input.ExplicitHashKey, "");
        if (!record.Ok)
        {
            return record.Error;
        }

        var put = await streams.PutAsync(name.Value, [record.Value], request.CancellationToken);
        if (!put.Ok)
        {
            return put.Error;
        }

        return JsonReply.Of(new KinesisPutRecordResult { ShardId = put.Value[0].ShardId, SequenceNumber = put.Value[0].SequenceNumber, EncryptionType = "NONE" }, KinesisJson.Default.KinesisPutRecordResult);
    }

    private static async Task<Result<JsonReply>> PutRecords(JsonRequest request, KinesisRequest input, StreamService streams)
    {
        var name = streams.NameOf(input.StreamName, input.StreamARN);
        if (!name.Ok)
        {
            return name.Error;
        }

        if (input.Records is null)
        {
            return Missing("records");
        }

        if (input.Records.Count is < 1 or > StreamService.MaxPutRecords)
        {
            return StreamErrors.Validation($"[{input.Records.Count} records]", "records", $"Member must have length {(input.Records.Count < 1 ? "greater than or equal to 1" : $"less than or equal to {StreamService.MaxPutRecords}")}");
        }

        var records = new List<StreamPut>(input.Records.Count);
        var total = 0L;
        for (var i = 0; i < input.Records.Count; i++)
        {
            var entry = input.Records[i];
            var record = RecordOf(entry.Data, entry.PartitionKey, entry.ExplicitHashKey, $"records.{i + 1}.member.");
            if (!record.Ok)
            {
                return record.Error;
            }

            total += record.Value.Data.Length + Encoding.UTF8.GetByteCount(record.Value.PartitionKey);
            records.Add(record.Value);
        }

        if (total > StreamService.MaxPutRecordsBytes)
        {
            return StreamErrors.InvalidArgument($"Records size exceeds {StreamService.MaxPutRecordsBytes / (1024 * 1024)} MB limit");
        }

        var put = await streams.PutAsync(name.Value, records, request.CancellationToken);
        if (!put.Ok)
        {
            return put.Error;
        }

        return JsonReply.Of(new KinesisPutRecordsResult
        {
            Records = put.Value.Select(r => new KinesisPutRecordResult { ShardId = r.ShardId, SequenceNumber = r.SequenceNumber }).ToList(),
        }, KinesisJson.Default.KinesisPutRecordsResult);
    }

    private static async Task<Result<JsonReply>> GetShardIterator(JsonRequest request, KinesisRequest input, StreamService streams)
    {
        var name = streams.NameOf(input.StreamName, input.StreamARN);
        if (!name.Ok)
        {
            return name.Error;
        }

        if (input.ShardId is null)
        {
            return Missing("shardId");
        }

        if (input.ShardIteratorType is null)
        {
            return Missing("shardIteratorType");
        }

        DateTimeOffset? timestamp = null;
        if (input.Timestamp is { } seconds)
        {
            timestamp = AwsTime.FromEpochSeconds(seconds);
            if (timestamp is null)
            {
                return StreamErrors.InvalidArgument($"Timestamp {Text(seconds)} is not a valid time.");
            }
        }

        var iterator = await streams.GetShardIteratorAsync(name.Value, input.ShardId, input.ShardIteratorType, input.StartingSequenceNumber, timestamp, request.CancellationToken);
        return iterator.Ok
            ? JsonReply.Of(new KinesisShardIteratorResult { ShardIterator = iterator.Value }, KinesisJson.Default.KinesisShardIteratorResult)
            : iterator.Error;
    }

    private static async Task<Result<JsonReply>> GetRecords(JsonRequest request, KinesisRequest input, StreamService streams)
    {
        if (input.ShardIterator is null)
        {
            return Missing("shardIterator");
        }

        if (input.Limit is < 1 or > StreamService.MaxGetRecords)
        {
            return StreamErrors.Validation(Text(input.Limit.Value), "limit", $"Member must have value between 1 and {StreamService.MaxGetRecords}");
        }

        var read = await streams.GetRecordsAsync(input.ShardIterator, input.Limit ?? StreamService.MaxGetRecords, request.CancellationToken);
        if (!read.Ok)
        {
            return read.Error;
        }

        return JsonReply.Of(new KinesisGetRecordsResult
        {
            Records = read.Value.Records.Select(r => new KinesisRecord
            {
                SequenceNumber = r.SequenceNumber,
                ApproximateArrivalTimestamp = Seconds(r.ArrivedAt),
                Data = r.Data,
                PartitionKey = r.PartitionKey,
            }).ToList(),
            NextShardIterator = read.Value.NextShardIterator,
            MillisBehindLatest = read.Value.MillisBehindLatest,
        }, KinesisJson.Default.KinesisGetRecordsResult);
    }

    private static async Task<Result<StreamDescription>> FindAsync(JsonRequest request, KinesisRequest input, StreamService streams)
    {
        var name = streams.NameOf(input.StreamName, input.StreamARN);
        return name.Ok ? await streams.DescribeAsync(name.Value, request.CancellationToken) : name.Error;
    }

    /// <summary>One record of PutRecord or PutRecords, checked; <paramref name="member"/> prefixes the member names in errors.</summary>
    private static Result<StreamPut> RecordOf(byte[]? data, string? partitionKey, string? explicitHashKey, string member)
    {
        if (data is null)
        {
            return Missing(member + "data");
        }

        if (partitionKey is null)
        {
            return Missing(member + "partitionKey");
        }

        var record = new StreamPut(data, partitionKey, explicitHashKey);
        return StreamService.Check(record, member) is { } invalid ? invalid : record;
    }

    private static KinesisShard ShardOf(StreamShard shard) => new()
    {
        ShardId = shard.ShardId,
        HashKeyRange = new() { StartingHashKey = shard.StartingHashKeyText, EndingHashKey = shard.EndingHashKeyText },
        SequenceNumberRange = new() { StartingSequenceNumber = shard.StartingSequenceNumber },
    };

    private static AwsError Missing(string member) =>
        new("ValidationException", 400, $"1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null");

    private static double Seconds(DateTimeOffset at) => at.ToUnixTimeMilliseconds() / 1000.0;

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Encode(string token) => Convert.ToBase64String(Encoding.UTF8.GetBytes(token));

    private static string? Decode(string token)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
