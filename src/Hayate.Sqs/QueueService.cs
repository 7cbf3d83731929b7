using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hayate.Kernel.Accounts;
using Hayate.Kernel.Errors;
using Hayate.Kernel.Signals;

namespace Hayate.Sqs;

/// <summary>
/// The built-in SQS-compatible queue service: durable queues in the store, long-poll receivers
/// woken in memory when a message is sent or becomes visible. Queues are named by name, ARN or URL.
/// </summary>
public sealed class QueueService(IQueueStore store, AccountOptions account, TimeProvider time) : IDisposable
{
    public const int MaxWaitSeconds = 20;
    private const long DedupWindowMs = 5 * 60 * 1000;

    private static readonly Dictionary<string, string> Defaults = new(StringComparer.Ordinal)
    {
        ["VisibilityTimeout"] = "30",
        ["MessageRetentionPeriod"] = "345600",
        ["DelaySeconds"] = "0",
        ["ReceiveMessageWaitTimeSeconds"] = "0",
        ["MaximumMessageSize"] = "1048576",
        ["SqsManagedSseEnabled"] = "false",
    };

    private static readonly Dictionary<string, (int Min, int Max)> Ranges = new(StringComparer.Ordinal)
    {
        ["VisibilityTimeout"] = (0, 43200),
        ["MessageRetentionPeriod"] = (60, 1209600),
        ["DelaySeconds"] = (0, 900),
        ["ReceiveMessageWaitTimeSeconds"] = (0, 20),
        ["MaximumMessageSize"] = (1024, 1048576),
        ["KmsDataKeyReusePeriodSeconds"] = (60, 86400),
    };

    private static readonly HashSet<string> Settable = new(StringComparer.Ordinal)
    {
        "VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds", "ReceiveMessageWaitTimeSeconds", "MaximumMessageSize",
        "Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled",
        "FifoQueue", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
    };

    private static readonly HashSet<string> Computed = new(StringComparer.Ordinal)
    {
        "All", "QueueArn", "CreatedTimestamp", "LastModifiedTimestamp", "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed",
    };

    public const int MaxTags = 50;
    private const long PurgeIntervalMs = 60 * 1000;

    private readonly WakeSignals _signals = new();
    private readonly ConcurrentDictionary<string, long> _purgedAt = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _tagGate = new(1, 1);

    public AccountOptions Account => account;

    public string ArnOf(string name) => account.ArnFor("sqs", name);

    public string UrlOf(string name, string baseUrl) => $"{baseUrl.TrimEnd('/')}/{account.AccountId}/{name}";

    /// <summary>The queue name in a name, an ARN (arn:aws:sqs:…:NAME) or a URL (…/ACCOUNT/NAME).</summary>
    public static string NameOf(string queue)
    {
        if (queue.StartsWith("arn:", StringComparison.Ordinal))
        {
            return queue[(queue.LastIndexOf(':') + 1)..];
        }

        var slash = queue.TrimEnd('/').LastIndexOf('/');
        return slash < 0 ? queue : queue.TrimEnd('/')[(slash + 1)..];
    }

    public Task<Result<QueueInfo>> CreateQueueAsync(string name, IReadOnlyDictionary<string, string>? attributes, CancellationToken cancellationToken) =>
        CreateQueueAsync(name, attributes, null, cancellationToken);

    /// <summary>Creates the queue with its attributes and tags; a queue of that name with the same attributes is returned as it is.</summary>
    public async Task<Result<QueueInfo>> CreateQueueAsync(string name, IReadOnlyDictionary<string, string>? attributes, IReadOnlyDictionary<string, string>? tags, CancellationToken cancellationToken)
    {
        attributes ??= new Dictionary<string, string>();
        if (tags is not null && ValidateTags(name, tags, tags.Count) is { } badTags)
        {
            return badTags;
        }

        var fifoName = name.EndsWith(".fifo", StringComparison.Ordinal);
        var bare = fifoName ? name[..^5] : name;
        if (bare.Length is 0 or > 75 || !bare.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return QueueErrors.InvalidParameterValue("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length");
        }

        if (Validate(attributes, creating: true) is { } invalid)
        {
            return invalid;
        }

        var fifo = attributes.TryGetValue("FifoQueue", out var f) && f == "true";
        if (fifo != fifoName)
        {
            return QueueErrors.InvalidParameterValue(fifo
                ? "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
                : "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length");
        }

        var stored = attributes.Where(a => a.Key != "FifoQueue" || fifo).ToDictionary(StringComparer.Ordinal);
        var now = time.GetUtcNow().ToUnixTimeSeconds();
        if (!await store.TryCreateQueueAsync(new StoredQueue(name, now, now, JsonSerializer.Serialize(stored, QueueJson.Default.DictionaryStringString)), cancellationToken))
        {
            var existing = await GetQueueAsync(name, cancellationToken);
            if (!existing.Ok)
            {
                return existing.Error;
            }

            foreach (var (key, value) in attributes)
            {
                var current = existing.Value.Attributes.GetValueOrDefault(key) ?? (key is "FifoQueue" or "ContentBasedDeduplication" ? "false" : "");
                if (current != value)
                {
                    return QueueErrors.QueueNameExists(name);
                }
            }

            return existing;
        }

        if (tags is { Count: > 0 })
        {
            await store.SetTagsAsync(name, JsonSerializer.Serialize(tags.ToDictionary(StringComparer.Ordinal), QueueJson.Default.DictionaryStringString), cancellationToken);
        }

        return await GetQueueAsync(name, cancellationToken);
    }

    public async Task<Result<IReadOnlyDictionary<string, string>>> ListTagsAsync(string queue, CancellationToken cancellationToken)
    {
        var tags = await store.GetTagsAsync(NameOf(queue), cancellationToken);
        return tags is null
            ? QueueErrors.QueueDoesNotExist()
            : Result.Of<IReadOnlyDictionary<string, string>>(JsonSerializer.Deserialize(tags, QueueJson.Default.DictionaryStringString) ?? []);
    }

    /// <summary>Adds or overwrites tags (TagQueue) and removes tag keys (UntagQueue), one change at a time.</summary>
    public async Task<Result<bool>> ChangeTagsAsync(string queue, IReadOnlyDictionary<string, string> add, IReadOnlyCollection<string> remove, CancellationToken cancellationToken)
    {
        var name = NameOf(queue);
        await _tagGate.WaitAsync(cancellationToken);
        try
        {
            var stored = await store.GetTagsAsync(name, cancellationToken);
            if (stored is null)
            {
                return QueueErrors.QueueDoesNotExist();
            }

            var tags = JsonSerializer.Deserialize(stored, QueueJson.Default.DictionaryStringString) ?? [];
            foreach (var key in remove)
            {
                tags.Remove(key);
            }

            var count = tags.Keys.Union(add.Keys, StringComparer.Ordinal).Count();
            if (ValidateTags(name, add, count) is { } invalid)
            {
                return invalid;
            }

            foreach (var (key, value) in add)
            {
                tags[key] = value;
            }

            await store.SetTagsAsync(name, JsonSerializer.Serialize(tags, QueueJson.Default.DictionaryStringString), cancellationToken);
            return true;
        }
        finally
        {
            _tagGate.Release();
        }
    }

    private static AwsError? ValidateTags(string queue, IReadOnlyDictionary<string, string> tags, int total)
    {
        if (total > MaxTags)
        {
            return QueueErrors.InvalidParameterValue($"Too many tags added for queue {queue}: a queue can have at most {MaxTags} tags.");
        }

        foreach (var (key, value) in tags)
        {
            if (key.Length is 0 or > 128)
            {
                return QueueErrors.InvalidParameterValue($"Tag keys must be between 1 and 128 characters in length: {key}");
            }

            if (key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase))
            {
                return QueueErrors.InvalidParameterValue($"Tag keys may not begin with the reserved prefix aws: {key}");
            }

            if (value.Length > 256)
            {
                return QueueErrors.InvalidParameterValue($"Tag values must be at most 256 characters in length: the value of {key} has {value.Length}.");
            }
        }

        return null;
    }

    public async Task<Result<QueueInfo>> GetQueueAsync(string queue, CancellationToken cancellationToken)
    {
        var stored = await store.GetQueueAsync(NameOf(queue), cancellationToken);
        return stored is null ? QueueErrors.QueueDoesNotExist() : Info(stored);
    }

    public async Task<(IReadOnlyList<QueueInfo> Queues, string? Next)> ListQueuesAsync(string? prefix, int? maxResults, string? after, CancellationToken cancellationToken)
    {
        var limit = maxResults ?? 1000;
        var page = await store.ListQueuesAsync(prefix ?? "", after, limit + 1, cancellationToken);
        var queues = page.Take(limit).Select(Info).ToList();
        return (queues, maxResults is not null && page.Count > limit ? queues[^1].Name : null);
    }

    public async Task<Result<bool>> DeleteQueueAsync(string queue, CancellationToken cancellationToken)
    {
        var name = NameOf(queue);
        if (!await store.DeleteQueueAsync(name, cancellationToken))
        {
            return QueueErrors.QueueDoesNotExist();
        }

        _purgedAt.TryRemove(name, out _);
        Wake(name);
        return true;
    }

    public async Task<Result<bool>> SetAttributesAsync(string queue, IReadOnlyDictionary<string, string> attributes, CancellationToken cancellationToken)
    {
        var stored = await store.GetQueueAsync(NameOf(queue), cancellationToken);
        if (stored is null)
        {
            return QueueErrors.QueueDoesNotExist();
        }

        if (Validate(attributes, creating: false) is { } invalid)
        {
            return invalid;
        }

        var current = JsonSerializer.Deserialize(stored.Attributes, QueueJson.Default.DictionaryStringString) ?? [];
        foreach (var (key, value) in attributes)
        {
            if (value.Length == 0 && key is "RedrivePolicy" or "Policy" or "RedriveAllowPolicy")
            {
                current.Remove(key);
            }
            else
            {
                current[key] = value;
            }
        }

        await store.UpdateQueueAsync(stored.Name, JsonSerializer.Serialize(current, QueueJson.Default.DictionaryStringString), time.GetUtcNow().ToUnixTimeSeconds(), cancellationToken);
        if (attributes.TryGetValue("MessageRetentionPeriod", out var retention))
        {
            // SQS applies a changed retention to the messages already in the queue: a shorter one expires those older than it.
            await store.SetRetentionAsync(stored.Name, long.Parse(retention, CultureInfo.InvariantCulture) * 1000, cancellationToken);
        }

        Wake(stored.Name);
        return true;
    }

    /// <summary>The named attributes ("All" for every one), the approximate counts included.</summary>
    public async Task<Result<IReadOnlyDictionary<string, string>>> GetAttributesAsync(string queue, IReadOnlyCollection<string> names, CancellationToken cancellationToken)
    {
        var found = await GetQueueAsync(queue, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        foreach (var name in names)
        {
            if (!Settable.Contains(name) && !Computed.Contains(name))
            {
                return QueueErrors.InvalidAttributeName(name);
            }
        }

        var info = found.Value;
        var all = names.Contains("All");
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var (visible, inFlight, delayed) = await store.CountAsync(info.Name, Now(), cancellationToken);
        var everything = new Dictionary<string, string>(info.Attributes, StringComparer.Ordinal)
        {
            ["QueueArn"] = info.Arn,
            ["CreatedTimestamp"] = info.CreatedAt.ToString(CultureInfo.InvariantCulture),
            ["LastModifiedTimestamp"] = info.ModifiedAt.ToString(CultureInfo.InvariantCulture),
            ["ApproximateNumberOfMessages"] = visible.ToString(CultureInfo.InvariantCulture),
            ["ApproximateNumberOfMessagesNotVisible"] = inFlight.ToString(CultureInfo.InvariantCulture),
            ["ApproximateNumberOfMessagesDelayed"] = delayed.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in everything)
        {
            if (all || names.Contains(key))
            {
                result[key] = value;
            }
        }

        return Result.Of<IReadOnlyDictionary<string, string>>(result);
    }

    /// <summary>Sends one message to a queue given by name, ARN or URL (the Lambda dead-letter and destination path).</summary>
    public Task<Result<QueueSendResult>> SendAsync(string queue, string body, IReadOnlyDictionary<string, QueueMessageAttribute>? attributes = null, CancellationToken cancellationToken = default) =>
        SendAsync(queue, new QueueSendRequest { Body = body, Attributes = attributes }, cancellationToken);

    public async Task<Result<QueueSendResult>> SendAsync(string queue, QueueSendRequest request, CancellationToken cancellationToken = default)
    {
        var found = await GetQueueAsync(queue, cancellationToken);
        return found.Ok ? await SendAsync(found.Value, request, cancellationToken) : found.Error;
    }

    /// <summary>Sends to a queue already looked up (the batch path).</summary>
    public async Task<Result<QueueSendResult>> SendAsync(QueueInfo queue, QueueSendRequest request, CancellationToken cancellationToken = default)
    {
        if (ValidateMessage(queue, request) is { } invalid)
        {
            return invalid;
        }

        var now = Now();
        var delay = request.DelaySeconds ?? int.Parse(queue.Attributes["DelaySeconds"], CultureInfo.InvariantCulture);
        var attributes = request.Attributes is { Count: > 0 } a ? new Dictionary<string, QueueMessageAttribute>(a, StringComparer.Ordinal) : [];
        var message = new StoredMessage
        {
            MessageId = Guid.NewGuid().ToString(),
            Body = request.Body,
            Attributes = JsonSerializer.Serialize(attributes, QueueJson.Default.DictionaryStringQueueMessageAttribute),
            Md5OfBody = QueueDigests.OfBody(request.Body),
            Md5OfAttributes = QueueDigests.OfAttributes(attributes),
            SentAt = now,
            VisibleAt = now + (delay * 1000L),
            ExpiresAt = now + (long.Parse(queue.Attributes["MessageRetentionPeriod"], CultureInfo.InvariantCulture) * 1000),
            GroupId = request.MessageGroupId,
        };

        string? sequence = null;
        if (queue.Fifo)
        {
            var dedup = request.MessageDeduplicationId ?? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(request.Body)));
            var outcome = await store.AddFifoMessageAsync(queue.Name, message with { DeduplicationId = dedup }, now - DedupWindowMs, cancellationToken);
            sequence = outcome.SequenceNumber.ToString(CultureInfo.InvariantCulture).PadLeft(20, '0');
            message = message with { MessageId = outcome.MessageId };
        }
        else
        {
            await store.AddMessageAsync(queue.Name, message, cancellationToken);
        }

        Wake(queue.Name);
        return new QueueSendResult(message.MessageId, message.Md5OfBody, message.Md5OfAttributes, sequence);
    }

    /// <summary>
    /// Receives up to MaxMessages (1–10). With a wait, returns as soon as one arrives: woken by a send,
    /// or by a timer at the moment the next delayed or in-flight message becomes visible.
    /// </summary>
    public async Task<Result<IReadOnlyList<QueueMessage>>> ReceiveAsync(string queue, QueueReceiveOptions options, CancellationToken cancellationToken = default)
    {
        var found = await GetQueueAsync(queue, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var info = found.Value;
        if (options.MaxMessages is < 1 or > 10)
        {
            return QueueErrors.InvalidParameterValue($"Value {options.MaxMessages} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.");
        }

        if (options.VisibilityTimeoutSeconds is < 0 or > 43200)
        {
            return QueueErrors.InvalidParameterValue($"Value {options.VisibilityTimeoutSeconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.");
        }

        var wait = options.WaitTimeSeconds ?? int.Parse(info.Attributes["ReceiveMessageWaitTimeSeconds"], CultureInfo.InvariantCulture);
        if (wait is < 0 or > MaxWaitSeconds)
        {
            return QueueErrors.InvalidParameterValue($"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.");
        }

        var visibility = options.VisibilityTimeoutSeconds ?? int.Parse(info.Attributes["VisibilityTimeout"], CultureInfo.InvariantCulture);
        var (maxReceives, deadLetter) = Redrive(info);
        long deadLetterRetention = 1209600 * 1000L;
        if (deadLetter is not null)
        {
            var dlq = await store.GetQueueAsync(deadLetter, cancellationToken);
            if (dlq is null)
            {
                deadLetter = null;
            }
            else
            {
                deadLetterRetention = long.Parse(Info(dlq).Attributes["MessageRetentionPeriod"], CultureInfo.InvariantCulture) * 1000;
            }
        }

        var deadline = Now() + (wait * 1000L);
        while (true)
        {
            var signal = _signals.Next(info.Name);
            var now = Now();
            var (received, moved) = await store.ReceiveAsync(info.Name, new ReceiveSpec(options.MaxMessages, now, now + (visibility * 1000L), info.Fifo, maxReceives, deadLetter, deadLetterRetention), cancellationToken);
            if (moved > 0 && deadLetter is not null)
            {
                Wake(deadLetter);
            }

            if (received.Count > 0 || now >= deadline)
            {
                return Result.Of<IReadOnlyList<QueueMessage>>(received.Select(m => ToMessage(info.Name, m)).ToList());
            }

            var next = await store.NextVisibleAtAsync(info.Name, now, cancellationToken);
            var until = Math.Min(deadline, next ?? long.MaxValue);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(TimeSpan.FromMilliseconds(Math.Max(1, until - now)), time, stop.Token);
            await Task.WhenAny(signal, delay);
            await stop.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
            if (await store.GetQueueAsync(info.Name, cancellationToken) is null)
            {
                return QueueErrors.QueueDoesNotExist();
            }
        }
    }

    /// <summary>Deletes by receipt handle. A stale handle (the message was received again since) succeeds and deletes nothing, as SQS documents.</summary>
    public async Task<Result<bool>> DeleteMessageAsync(string queue, string receiptHandle, CancellationToken cancellationToken = default)
    {
        var found = await GetQueueAsync(queue, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        if (!TryParseReceipt(receiptHandle, found.Value.Name, out var id, out var token))
        {
            return QueueErrors.ReceiptHandleIsInvalid(receiptHandle);
        }

        return await store.DeleteMessageAsync(found.Value.Name, id, token, cancellationToken) == ReceiptOutcome.Done;
    }

    /// <summary>Deletes received messages in one transaction (an event source mapping's successful batch); a stale handle deletes nothing, as one by one.</summary>
    public async Task<Result<bool>> DeleteMessagesAsync(string queue, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken = default)
    {
        var found = await GetQueueAsync(queue, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        var messages = new List<(long Id, string Receipt)>(receiptHandles.Count);
        foreach (var handle in receiptHandles)
        {
            if (!TryParseReceipt(handle, found.Value.Name, out var id, out var token))
            {
                return QueueErrors.ReceiptHandleIsInvalid(handle);
            }

            messages.Add((id, token));
        }

        await store.DeleteMessagesAsync(found.Value.Name, messages, cancellationToken);
        return true;
    }

    public async Task<Result<bool>> ChangeVisibilityAsync(string queue, string receiptHandle, int visibilityTimeoutSeconds, CancellationToken cancellationToken = default)
    {
        var found = await GetQueueAsync(queue, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        if (visibilityTimeoutSeconds is < 0 or > 43200)
        {
            return QueueErrors.InvalidParameterValue($"Value {visibilityTimeoutSeconds} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200.");
        }

        if (!TryParseReceipt(receiptHandle, found.Value.Name, out var id, out var token))
        {
            return QueueErrors.ReceiptHandleIsInvalid(receiptHandle);
        }

        var now = Now();
        var outcome = await store.ChangeVisibilityAsync(found.Value.Name, id, token, now, now + (visibilityTimeoutSeconds * 1000L), cancellationToken);
        switch (outcome)
        {
            case ReceiptOutcome.Done:
                Wake(found.Value.Name);
                return true;
            case ReceiptOutcome.NotInFlight:
                return QueueErrors.MessageNotInflight();
            default:
                return QueueErrors.MessageNotAvailable(receiptHandle);
        }
    }

    public async Task<Result<bool>> PurgeAsync(string queue, CancellationToken cancellationToken = default)
    {
        var found = await GetQueueAsync(queue, cancellationToken);
        if (!found.Ok)
        {
            return found.Error;
        }

        // Once a minute per queue, as on SQS.
        var now = Now();
        var last = _purgedAt.GetOrAdd(found.Value.Name, 0);
        if (now - last < PurgeIntervalMs || !_purgedAt.TryUpdate(found.Value.Name, now, last))
        {
            return QueueErrors.PurgeQueueInProgress(found.Value.Name);
        }

        await store.PurgeAsync(found.Value.Name, cancellationToken);
        return true;
    }

    private QueueMessage ToMessage(string queue, StoredMessage m)
    {
        var system = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["SenderId"] = account.AccountId,
            ["SentTimestamp"] = m.SentAt.ToString(CultureInfo.InvariantCulture),
            ["ApproximateReceiveCount"] = m.ReceiveCount.ToString(CultureInfo.InvariantCulture),
            ["ApproximateFirstReceiveTimestamp"] = (m.FirstReceivedAt ?? m.SentAt).ToString(CultureInfo.InvariantCulture),
        };
        if (m.GroupId is { } group)
        {
            system["MessageGroupId"] = group;
        }

        if (m.SequenceNumber is { } sequence)
        {
            system["SequenceNumber"] = sequence.ToString(CultureInfo.InvariantCulture).PadLeft(20, '0');
            system["MessageDeduplicationId"] = m.DeduplicationId ?? "";
        }

        return new QueueMessage
        {
            MessageId = m.MessageId,
            ReceiptHandle = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{queue} {m.Id} {m.Receipt}")),
            Body = m.Body,
            Md5OfBody = m.Md5OfBody,
            Md5OfAttributes = m.Md5OfAttributes,
            Attributes = (JsonSerializer.Deserialize(m.Attributes, QueueJson.Default.DictionaryStringQueueMessageAttribute) ?? [])
                .ToDictionary(a => a.Key, a => a.Value.DataType.StartsWith("Binary", StringComparison.Ordinal) ? a.Value with { StringValue = null } : a.Value with { BinaryValue = null }, StringComparer.Ordinal),
            SystemAttributes = system,
        };
    }

    private static bool TryParseReceipt(string handle, string queue, out long id, out string token)
    {
        id = 0;
        token = "";
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(handle)).Split(' ');
            if (parts.Length != 3 || parts[0] != queue || !long.TryParse(parts[1], CultureInfo.InvariantCulture, out id))
            {
                return false;
            }

            token = parts[2];
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static (int? MaxReceives, string? DeadLetterQueue) Redrive(QueueInfo queue)
    {
        if (!queue.Attributes.TryGetValue("RedrivePolicy", out var json) || json.Length == 0)
        {
            return (null, null);
        }

        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        var max = root.GetProperty("maxReceiveCount");
        var count = max.ValueKind == JsonValueKind.String ? int.Parse(max.GetString()!, CultureInfo.InvariantCulture) : max.GetInt32();
        return (count, NameOf(root.GetProperty("deadLetterTargetArn").GetString()!));
    }

    private static AwsError? Validate(IReadOnlyDictionary<string, string> attributes, bool creating)
    {
        foreach (var (key, value) in attributes)
        {
            if (!Settable.Contains(key) || (!creating && key == "FifoQueue"))
            {
                return QueueErrors.InvalidAttributeName(key);
            }

            if (Ranges.TryGetValue(key, out var range)
                && (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) || number < range.Min || number > range.Max))
            {
                return QueueErrors.InvalidAttributeValue($"Invalid value for the parameter {key}.");
            }

            if (key is "FifoQueue" or "ContentBasedDeduplication" or "SqsManagedSseEnabled" && value is not ("true" or "false"))
            {
                return QueueErrors.InvalidAttributeValue($"Invalid value for the parameter {key}.");
            }

            if (key == "RedrivePolicy" && value.Length > 0)
            {
                try
                {
                    using var doc = JsonDocument.Parse(value);
                    var root = doc.RootElement;
                    if (!root.TryGetProperty("deadLetterTargetArn", out var arn) || arn.ValueKind != JsonValueKind.String
                        || !root.TryGetProperty("maxReceiveCount", out var max)
                        || !(max.ValueKind == JsonValueKind.Number ? max.TryGetInt32(out var n) : int.TryParse(max.GetString(), CultureInfo.InvariantCulture, out n))
                        || n is < 1 or > 1000)
                    {
                        return QueueErrors.InvalidAttributeValue("Value " + value + " for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map with deadLetterTargetArn and maxReceiveCount (1 to 1000).");
                    }
                }
                catch (JsonException)
                {
                    return QueueErrors.InvalidAttributeValue("Value " + value + " for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map.");
                }
            }
        }

        return null;
    }

    private static AwsError? ValidateMessage(QueueInfo queue, QueueSendRequest request)
    {
        if (request.Body.Length == 0)
        {
            return QueueErrors.MissingParameter("MessageBody");
        }

        var size = Encoding.UTF8.GetByteCount(request.Body) + (request.Attributes?.Sum(a => Encoding.UTF8.GetByteCount(a.Key) + Encoding.UTF8.GetByteCount(a.Value.DataType)
            + (a.Value.BinaryValue?.Length ?? Encoding.UTF8.GetByteCount(a.Value.StringValue ?? ""))) ?? 0);
        var max = int.Parse(queue.Attributes["MaximumMessageSize"], CultureInfo.InvariantCulture);
        if (size > max)
        {
            return QueueErrors.InvalidParameterValue($"One or more parameters are invalid. Reason: Message must be shorter than {max} bytes.");
        }

        if (request.Body.Any(c => c is < '\x20' and not ('\x09' or '\x0A' or '\x0D') or '\uFFFE' or '\uFFFF'))
        {
            return QueueErrors.InvalidMessageContents("Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF");
        }

        foreach (var (name, value) in request.Attributes ?? new Dictionary<string, QueueMessageAttribute>())
        {
            var type = value.DataType.Split('.')[0];
            if (type is not ("String" or "Number" or "Binary"))
            {
                return QueueErrors.InvalidParameterValue($"The type of message (user) attribute '{name}' is invalid. You must use only the following supported type prefixes: Binary, Number, String.");
            }

            if ((type == "Binary" ? value.BinaryValue is null : value.StringValue is null))
            {
                return QueueErrors.InvalidParameterValue($"Message (user) attribute '{name}' must contain a non-empty value of type '{type}'.");
            }
        }

        if (queue.Fifo)
        {
            if (request.MessageGroupId is null)
            {
                return QueueErrors.MissingParameter("MessageGroupId");
            }

            if (request.DelaySeconds is > 0)
            {
                return QueueErrors.InvalidParameterValue($"Value {request.DelaySeconds} for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.");
            }

            var contentBased = queue.Attributes.TryGetValue("ContentBasedDeduplication", out var c) && c == "true";
            if (request.MessageDeduplicationId is null && !contentBased)
            {
                return QueueErrors.InvalidParameterValue("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly");
            }
        }
        else if (request.DelaySeconds is < 0 or > 900)
        {
            return QueueErrors.InvalidParameterValue($"Value {request.DelaySeconds} for parameter DelaySeconds is invalid. Reason: Must be >= 0 and <= 900, if provided.");
        }

        return null;
    }

    private QueueInfo Info(StoredQueue stored)
    {
        var attributes = new Dictionary<string, string>(Defaults, StringComparer.Ordinal);
        foreach (var (key, value) in JsonSerializer.Deserialize(stored.Attributes, QueueJson.Default.DictionaryStringString) ?? [])
        {
            attributes[key] = value;
        }

        if (attributes.TryGetValue("FifoQueue", out var fifo) && fifo == "true")
        {
            attributes.TryAdd("ContentBasedDeduplication", "false");
            attributes.TryAdd("DeduplicationScope", "queue");
            attributes.TryAdd("FifoThroughputLimit", "perQueue");
        }

        return new QueueInfo(stored.Name, ArnOf(stored.Name), attributes, stored.CreatedAt, stored.ModifiedAt);
    }

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();

    private void Wake(string queue) => _signals.Wake(queue);

    public void Dispose() => _tagGate.Dispose();
}
