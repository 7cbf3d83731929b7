using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Hayate.Kernel.Accounts;
using Hayate.Kernel.Errors;
using Hayate.Kernel.Signals;

namespace Hayate.Kinesis;

/// <summary>
/// The built-in ordered stream, with Kinesis's rules: a record goes to the shard whose slice of the
/// 128-bit hash-key space holds the MD5 of its partition key (or its explicit hash key); each shard
/// numbers its records in arrival order and keeps them for the retention period. Readers move
/// through a shard with iterators, as GetShardIterator/GetRecords do, or, inside Hayate, by sequence
/// number (<see cref="ReadAsync"/>), which is how event source mappings read.
/// </summary>
public sealed partial class StreamService(IStreamStore store, AccountOptions account, TimeProvider time)
{
    public const int DefaultRetentionHours = 24;
    public const int MaxShards = 200;
    public const int OnDemandShards = 4;
    public const int MaxRecordBytes = 1024 * 1024;
    public const int MaxPutRecords = 500;
    public const int MaxPutRecordsBytes = 5 * 1024 * 1024;
    public const int MaxGetRecords = 10000;
    public const int MaxGetRecordsBytes = 10 * 1024 * 1024;
    private const long IteratorLifetimeMs = 5 * 60 * 1000;
    private const long TrimEveryMs = 60 * 1000;
    private const string IteratorVersion = "h1";
    private static readonly BigInteger HashSpace = BigInteger.One << 128;

    private readonly WakeSignals _signals = new();
    private readonly ConcurrentDictionary<string, long> _trimmedAt = new(StringComparer.Ordinal);

    public string ArnOf(string name) => account.ArnFor("kinesis", "stream/" + name);

    /// <summary>The stream a request names by StreamName, StreamARN or both (which must agree).</summary>
    public Result<string> NameOf(string? name, string? arn)
    {
        if (arn is null)
        {
            return name is null ? StreamErrors.InvalidArgument("Either StreamName or StreamARN should be provided.") : ValidName(name);
        }

        var prefix = $"arn:aws:kinesis:{account.Region}:{account.AccountId}:stream/";
        if (!arn.StartsWith(prefix, StringComparison.Ordinal))
        {
            return arn.StartsWith("arn:aws:kinesis:", StringComparison.Ordinal) && arn.Contains(":stream/", StringComparison.Ordinal)
                ? StreamErrors.NotFound(arn, account.AccountId)
                : StreamErrors.Validation(arn, "streamARN", "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+");
        }

        var fromArn = arn[prefix.Length..];
        if (name is not null && name != fromArn)
        {
            return StreamErrors.InvalidArgument($"StreamARN {arn} and StreamName {name} do not name the same stream.");
        }

        return ValidName(fromArn);
    }

    private static Result<string> ValidName(string name) =>
        name.Length is < 1 or > 128 ? StreamErrors.Validation(name, "streamName", "Member must have length between 1 and 128")
        : !StreamNamePattern().IsMatch(name) ? StreamErrors.Validation(name, "streamName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        : name;

    public async Task<Result<StreamDescription>> CreateAsync(string name, int? shardCount, string? mode, CancellationToken cancellationToken)
    {
        var valid = ValidName(name);
        if (!valid.Ok)
        {
            return valid.Error;
        }

        if (mode is not (null or "PROVISIONED" or "ON_DEMAND"))
        {
            return StreamErrors.Validation(mode, "streamModeDetails.streamMode", "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]");
        }

        if (mode == "ON_DEMAND" && shardCount is not null)
        {
            return StreamErrors.InvalidArgument("ShardCount must not be specified for streams in ON_DEMAND mode.");
        }

        if (mode == "PROVISIONED" && shardCount is null)
        {
            return StreamErrors.InvalidArgument("ShardCount is required for streams in PROVISIONED mode.");
        }

        if (shardCount is < 1)
        {
            return StreamErrors.Validation(shardCount.Value.ToString(CultureInfo.InvariantCulture), "shardCount", "Member must have value greater than or equal to 1");
        }

        if (shardCount > MaxShards)
        {
            return StreamErrors.LimitExceeded($"This request would exceed the shard limit for the account {account.AccountId} in {account.Region}. Current limit of shards is {MaxShards}. Use fewer shards.");
        }

        var stored = new StoredStream(name, time.GetUtcNow().ToUnixTimeMilliseconds(), DefaultRetentionHours, shardCount is null ? "ON_DEMAND" : "PROVISIONED", shardCount ?? OnDemandShards);
        if (!await store.TryCreateStreamAsync(stored, cancellationToken))
        {
            return StreamErrors.InUse(name, account.AccountId);
        }

        return Describe(stored);
    }

    public async Task<Result<bool>> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        if (!await store.DeleteStreamAsync(name, cancellationToken))
        {
            return StreamErrors.NotFound(name, account.AccountId);
        }

        Wake(name);
        return true;
    }

    /// <summary>The stream a name or an ARN names.</summary>
    public async Task<Result<StreamDescription>> DescribeAsync(string nameOrArn, CancellationToken cancellationToken)
    {
        var name = nameOrArn.StartsWith("arn:", StringComparison.Ordinal) ? NameOf(null, nameOrArn) : ValidName(nameOrArn);
        if (!name.Ok)
        {
            return name.Error;
        }

        var stored = await store.GetStreamAsync(name.Value, cancellationToken);
        return stored is null ? StreamErrors.NotFound(name.Value, account.AccountId) : Describe(stored);
    }

    public async Task<(IReadOnlyList<StreamDescription> Streams, bool More)> ListAsync(string? after, int limit, CancellationToken cancellationToken)
    {
        var page = await store.ListStreamsAsync(after, limit + 1, cancellationToken);
        return (page.Take(limit).Select(Describe).ToList(), page.Count > limit);
    }

    public async Task<Result<IReadOnlyList<StreamPutResult>>> PutAsync(string name, IReadOnlyList<StreamPut> records, CancellationToken cancellationToken)
    {
        var stored = await store.GetStreamAsync(name, cancellationToken);
        if (stored is null)
        {
            return StreamErrors.NotFound(name, account.AccountId);
        }

        var appends = new List<StreamAppend>(records.Count);
        foreach (var record in records)
        {
            var hash = HashKeyOf(record);
            if (!hash.Ok)
            {
                return hash.Error;
            }

            appends.Add(new StreamAppend(ShardOf(hash.Value, stored.ShardCount), record.PartitionKey, record.Data));
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await TrimIfDueAsync(stored, now, cancellationToken);
        var sequences = await store.AppendAsync(name, appends, now, cancellationToken);
        if (sequences is null)
        {
            return StreamErrors.NotFound(name, account.AccountId);
        }

        Wake(name);
        return appends.Select((a, i) => new StreamPutResult(ShardIdOf(a.Shard), SequenceNumberOf(a.Shard, sequences[i]))).ToList();
    }

    /// <summary>The checks PutRecord(s) makes of one record before anything is stored.</summary>
    public static AwsError? Check(StreamPut record, string member)
    {
        if (record.PartitionKey.Length is < 1 or > 256)
        {
            return StreamErrors.Validation(record.PartitionKey, member + "partitionKey", "Member must have length between 1 and 256");
        }

        if (record.Data.Length + Encoding.UTF8.GetByteCount(record.PartitionKey) > MaxRecordBytes)
        {
            return StreamErrors.Validation("java.nio.HeapByteBuffer", member + "data", $"Member must have length less than or equal to {MaxRecordBytes}");
        }

        return null;
    }

    public async Task<Result<string>> GetShardIteratorAsync(string name, string shardId, string type, string? sequenceNumber, DateTimeOffset? timestamp, CancellationToken cancellationToken)
    {
        var found = await ShardAsync(name, shardId, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var shard = found.Value.Shard;

        if (type is "AT_SEQUENCE_NUMBER" or "AFTER_SEQUENCE_NUMBER" && sequenceNumber is null)
        {
            return StreamErrors.InvalidArgument($"StartingSequenceNumber must be specified for ShardIteratorType {type}.");
        }

        if (type is not ("AT_SEQUENCE_NUMBER" or "AFTER_SEQUENCE_NUMBER") && sequenceNumber is not null)
        {
            return StreamErrors.InvalidArgument($"StartingSequenceNumber must not be specified for ShardIteratorType {type}.");
        }

        if ((type == "AT_TIMESTAMP") != timestamp.HasValue)
        {
            return StreamErrors.InvalidArgument(timestamp.HasValue
                ? $"Timestamp must not be specified for ShardIteratorType {type}."
                : "Timestamp must be specified for ShardIteratorType AT_TIMESTAMP.");
        }

        long after;
        switch (type)
        {
            case "TRIM_HORIZON":
                after = 0;
                break;
            case "LATEST":
                after = await store.LatestSequenceAsync(name, shard, cancellationToken);
                break;
            case "AT_TIMESTAMP":
                after = await store.SequenceBeforeAsync(name, shard, timestamp!.Value.ToUnixTimeMilliseconds(), cancellationToken);
                break;
            case "AT_SEQUENCE_NUMBER" or "AFTER_SEQUENCE_NUMBER":
                if (ParseSequenceNumber(sequenceNumber!) is not { } parsed || parsed.Shard != shard)
                {
                    return StreamErrors.InvalidArgument($"Invalid StartingSequenceNumber. It encodes {(ParseSequenceNumber(sequenceNumber!) is null ? "no" : "a different")} shard, while it was used in a call to a shard with {shardId}");
                }

                after = type == "AT_SEQUENCE_NUMBER" ? parsed.Sequence - 1 : parsed.Sequence;
                break;
            default:
                return StreamErrors.Validation(type, "shardIteratorType", "Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]");
        }

        return Iterator(name, shard, after);
    }

    public async Task<Result<StreamRead>> GetRecordsAsync(string iterator, int limit, CancellationToken cancellationToken)
    {
        var position = ParseIterator(iterator);
        if (position is null)
        {
            return StreamErrors.InvalidArgument($"Invalid ShardIterator: {iterator}");
        }

        var (name, shard, after, issuedAt) = position.Value;
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (now - issuedAt > IteratorLifetimeMs)
        {
            return StreamErrors.ExpiredIterator(
                $"Iterator expired. The iterator was created at time {Iso(issuedAt)} while right now it is {Iso(now)} which is further in the future than the tolerated delay of {IteratorLifetimeMs} milliseconds.");
        }

        var stored = await store.GetStreamAsync(name, cancellationToken);
        if (stored is null)
        {
            return StreamErrors.NotFound(name, account.AccountId);
        }

        if (shard >= stored.ShardCount)
        {
            return StreamErrors.ShardNotFound(ShardIdOf(shard), name, account.AccountId);
        }

        var records = await ReadStoredAsync(stored, shard, after, limit, MaxGetRecordsBytes, cancellationToken);
        var last = records.Count > 0 ? records[^1].Sequence : after;
        var latest = await store.LatestSequenceAsync(name, shard, cancellationToken);
        var behind = records.Count > 0 && last < latest ? Math.Max(0, now - records[^1].ArrivedAt) : 0;
        return new StreamRead(records.Select(ToRecord).ToList(), Iterator(name, shard, last), behind);
    }

    /// <summary>Up to <paramref name="limit"/> records of a shard after a sequence number (null: from the oldest), in order.</summary>
    public async Task<Result<IReadOnlyList<StreamRecord>>> ReadAsync(string streamName, string shardId, string? afterSequenceNumber, int limit, CancellationToken cancellationToken)
    {
        var found = await ShardAsync(streamName, shardId, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var (stored, shard) = found.Value;

        var after = 0L;
        if (afterSequenceNumber is not null)
        {
            if (ParseSequenceNumber(afterSequenceNumber) is not { } parsed || parsed.Shard != shard)
            {
                return StreamErrors.InvalidArgument($"Invalid sequence number {afterSequenceNumber} for {shardId}");
            }

            after = parsed.Sequence;
        }

        var records = await ReadStoredAsync(stored, shard, after, limit, MaxGetRecordsBytes, cancellationToken);
        return Result.Of<IReadOnlyList<StreamRecord>>(records.Select(ToRecord).ToList());
    }

    /// <summary>The sequence number of the newest record of a shard (null when it has none): where LATEST starts.</summary>
    public async Task<Result<string?>> LatestSequenceNumberAsync(string streamName, string shardId, CancellationToken cancellationToken)
    {
        var found = await ShardAsync(streamName, shardId, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var (stored, shard) = found.Value;
        var latest = await store.LatestSequenceAsync(streamName, shard, cancellationToken);
        return latest <= stored.SequenceBase ? Result.Of<string?>(null) : SequenceNumberOf(shard, latest);
    }

    /// <summary>The sequence number of the newest record that arrived before <paramref name="timestamp"/> (null when none): where AT_TIMESTAMP starts.</summary>
    public async Task<Result<string?>> SequenceNumberBeforeAsync(string streamName, string shardId, DateTimeOffset timestamp, CancellationToken cancellationToken)
    {
        var found = await ShardAsync(streamName, shardId, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var shard = found.Value.Shard;
        var before = await store.SequenceBeforeAsync(streamName, shard, timestamp.ToUnixTimeMilliseconds(), cancellationToken);
        return before == 0 ? Result.Of<string?>(null) : SequenceNumberOf(shard, before);
    }

    /// <summary>Returns when a record is put to the stream, or after <paramref name="wait"/>.</summary>
    public async Task WaitForRecordsAsync(string streamName, TimeSpan wait, CancellationToken cancellationToken)
    {
        try
        {
            await _signals.Next(streamName).WaitAsync(wait, time, cancellationToken);
        }
        catch (TimeoutException)
        {
        }
    }

    /// <summary>The stream and the index of its shard <paramref name="shardId"/>, or the error that names what is missing.</summary>
    private async Task<Result<(StoredStream Stream, int Shard)>> ShardAsync(string name, string shardId, CancellationToken cancellationToken)
    {
        var stored = await store.GetStreamAsync(name, cancellationToken);
        if (stored is null)
        {
            return StreamErrors.NotFound(name, account.AccountId);
        }

        return ShardIndexOf(shardId, stored.ShardCount) is { } shard ? (stored, shard) : StreamErrors.ShardNotFound(shardId, name, account.AccountId);
    }

    private async Task<IReadOnlyList<StoredStreamRecord>> ReadStoredAsync(StoredStream stream, int shard, long after, int limit, int maxBytes, CancellationToken cancellationToken)
    {
        var since = time.GetUtcNow().ToUnixTimeMilliseconds() - (stream.RetentionHours * 3_600_000L);
        return await store.ReadAsync(stream.Name, shard, after, since, limit, maxBytes, cancellationToken);
    }

    private async Task TrimIfDueAsync(StoredStream stream, long now, CancellationToken cancellationToken)
    {
        var last = _trimmedAt.GetOrAdd(stream.Name, 0);
        if (now - last < TrimEveryMs || !_trimmedAt.TryUpdate(stream.Name, now, last))
        {
            return;
        }

        await store.TrimAsync(stream.Name, now - (stream.RetentionHours * 3_600_000L), cancellationToken);
    }

    private StreamDescription Describe(StoredStream stream)
    {
        var shards = new List<StreamShard>(stream.ShardCount);
        for (var i = 0; i < stream.ShardCount; i++)
        {
            var (start, end) = RangeOf(i, stream.ShardCount);
            shards.Add(new StreamShard(ShardIdOf(i), start, end, SequenceNumberOf(i, stream.SequenceBase)));
        }

        return new StreamDescription(stream.Name, ArnOf(stream.Name), "ACTIVE", stream.Mode, stream.RetentionHours, DateTimeOffset.FromUnixTimeMilliseconds(stream.CreatedAt), shards);
    }

    private static StreamRecord ToRecord(StoredStreamRecord record) =>
        new(ShardIdOf(record.Shard), SequenceNumberOf(record.Shard, record.Sequence), record.PartitionKey, record.Data, DateTimeOffset.FromUnixTimeMilliseconds(record.ArrivedAt));

    /// <summary>The record's place in the hash-key space: its explicit hash key, or the MD5 of its partition key as a 128-bit number.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351", Justification = "Kinesis maps partition keys to shards by MD5; a spread, not security.")]
    private static Result<UInt128> HashKeyOf(StreamPut record)
    {
        if (record.ExplicitHashKey is { } explicitKey)
        {
            return explicitKey.Length is > 0 and <= 39 && explicitKey.All(char.IsAsciiDigit) && (explicitKey == "0" || explicitKey[0] != '0')
                && UInt128.TryParse(explicitKey, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : StreamErrors.InvalidArgument($"Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {explicitKey}");
        }

        var digest = MD5.HashData(Encoding.UTF8.GetBytes(record.PartitionKey));
        return new UInt128(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(digest), System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(digest.AsSpan(8)));
    }

    /// <summary>Shard i of n owns [floor(i * 2^128 / n), floor((i + 1) * 2^128 / n) - 1], as Kinesis splits the space.</summary>
    private static (UInt128 Start, UInt128 End) RangeOf(int shard, int count) =>
        ((UInt128)(HashSpace * shard / count), (UInt128)((HashSpace * (shard + 1) / count) - 1));

    private static int ShardOf(UInt128 hash, int count)
    {
        // hash * n / 2^128 is the shard or the one before it (the ranges' starts are rounded down).
        var shard = (int)((BigInteger)hash * count / HashSpace);
        return shard + 1 < count && hash >= RangeOf(shard + 1, count).Start ? shard + 1 : shard;
    }

    public static string ShardIdOf(int shard) => $"shardId-{shard:D12}";

    private static int? ShardIndexOf(string shardId, int count) =>
        shardId.StartsWith("shardId-", StringComparison.Ordinal) && int.TryParse(shardId.AsSpan(8), NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < count
            ? index
            : null;

    /// <summary>
    /// A shard's n-th record as a Kinesis-style decimal sequence number: "1", the shard in 4 digits and n in
    /// 20, so numbers of one shard compare as strings the way they compare as numbers.
    /// </summary>
    private static string SequenceNumberOf(int shard, long sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"1{shard:D4}{sequence:D20}");

    private static (int Shard, long Sequence)? ParseSequenceNumber(string text) =>
        text.Length == 25 && text[0] == '1' && text.All(char.IsAsciiDigit)
            && int.TryParse(text.AsSpan(1, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var shard)
            && long.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            ? (shard, sequence)
            : null;

    private string Iterator(string name, int shard, long after) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{IteratorVersion}|{shard}|{after}|{time.GetUtcNow().ToUnixTimeMilliseconds()}|{name}")));

    private static (string Name, int Shard, long After, long IssuedAt)? ParseIterator(string iterator)
    {
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(iterator)).Split('|', 5);
            return parts is [IteratorVersion, var shard, var after, var issued, var name]
                && int.TryParse(shard, NumberStyles.None, CultureInfo.InvariantCulture, out var s)
                && long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var a)
                && long.TryParse(issued, NumberStyles.None, CultureInfo.InvariantCulture, out var i)
                && name.Length > 0
                ? (name, s, a, i)
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string Iso(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("ddd MMM dd HH:mm:ss 'UTC' yyyy", CultureInfo.InvariantCulture);

    private void Wake(string name) => _signals.Wake(name);

    [GeneratedRegex("^[a-zA-Z0-9_.-]+$")]
    private static partial Regex StreamNamePattern();
}
