using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Serialization;
using Hayate.Kernel.Errors;

namespace Hayate.Sqs;

/// <summary>One message attribute: DataType (String, Number, Binary, with optional ".label"), and its value.</summary>
public sealed record QueueMessageAttribute
{
    public required string DataType { get; init; }
    public string? StringValue { get; init; }
    public byte[]? BinaryValue { get; init; }
}

/// <summary>What a sender gives: the body and, optionally, attributes, a delay and the FIFO ids.</summary>
public sealed record QueueSendRequest
{
    public required string Body { get; init; }
    public IReadOnlyDictionary<string, QueueMessageAttribute>? Attributes { get; init; }
    public int? DelaySeconds { get; init; }
    public string? MessageGroupId { get; init; }
    public string? MessageDeduplicationId { get; init; }
}

/// <summary>A stored message: its id, the MD5s SQS reports and, for FIFO queues, the sequence number.</summary>
public sealed record QueueSendResult(string MessageId, string Md5OfBody, string? Md5OfAttributes, string? SequenceNumber);

/// <summary>How to receive: up to 10 messages, an optional visibility override and long-poll wait.</summary>
public sealed record QueueReceiveOptions
{
    public int MaxMessages { get; init; } = 1;
    public int? VisibilityTimeoutSeconds { get; init; }
    public int? WaitTimeSeconds { get; init; }
}

/// <summary>A received message with its receipt handle and system attributes (SentTimestamp, ApproximateReceiveCount, …).</summary>
public sealed record QueueMessage
{
    public required string MessageId { get; init; }
    public required string ReceiptHandle { get; init; }
    public required string Body { get; init; }
    public required string Md5OfBody { get; init; }
    public string? Md5OfAttributes { get; init; }
    public required IReadOnlyDictionary<string, QueueMessageAttribute> Attributes { get; init; }
    public required IReadOnlyDictionary<string, string> SystemAttributes { get; init; }
}

/// <summary>A queue's identity and effective attributes.</summary>
public sealed record QueueInfo(string Name, string Arn, IReadOnlyDictionary<string, string> Attributes, long CreatedAt, long ModifiedAt)
{
    public bool Fifo => Attributes.TryGetValue("FifoQueue", out var f) && f == "true";
}

/// <summary>SQS errors by shape name; the Api layer adds the query-compatible code and the `com.amazonaws.sqs#` prefix.</summary>
public static class QueueErrors
{
    public static AwsError QueueDoesNotExist() => new("QueueDoesNotExist", 400, "The specified queue does not exist.");

    public static AwsError QueueNameExists(string name) => new("QueueNameExists", 400, $"A queue already exists with the same name and a different value for attribute(s): {name}");

    public static AwsError InvalidAttributeName(string name) => new("InvalidAttributeName", 400, $"Unknown Attribute {name}.");

    public static AwsError InvalidAttributeValue(string message) => new("InvalidAttributeValue", 400, message);

    public static AwsError InvalidParameterValue(string message) => new("InvalidParameterValue", 400, message);

    public static AwsError MissingParameter(string name) => new("MissingParameter", 400, $"The request must contain the parameter {name}.");

    public static AwsError ReceiptHandleIsInvalid(string handle) => new("ReceiptHandleIsInvalid", 400, $"The input receipt handle \"{handle}\" is not a valid receipt handle.");

    public static AwsError MessageNotInflight() => new("MessageNotInflight", 400, "The message referred to isn't in flight.");

    /// <summary>A well-formed handle whose message is gone (deleted, expired, or received again since): what SQS answers a visibility change with.</summary>
    public static AwsError MessageNotAvailable(string handle) =>
        InvalidParameterValue($"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.");

    public static AwsError PurgeQueueInProgress(string name) =>
        new("PurgeQueueInProgress", 400, $"Only one PurgeQueue operation on {name} is allowed every 60 seconds.");

    public static AwsError InvalidMessageContents(string message) => new("InvalidMessageContents", 400, message);
}

/// <summary>The MD5 digests SQS reports: of the body (UTF-8), and of the message attributes in SQS's length-prefixed binary encoding.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5351", Justification = "SQS defines these digests as MD5; they are checksums, not security.")]
public static class QueueDigests
{
    public static string OfBody(string body) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(body)));

    /// <summary>
    /// Attributes sorted by name (ordinal); each contributes its name, DataType (each as a 4-byte
    /// big-endian length and UTF-8 bytes), a transport byte (1 string, 2 binary) and the value, length-prefixed.
    /// </summary>
    public static string? OfAttributes(IReadOnlyDictionary<string, QueueMessageAttribute>? attributes)
    {
        if (attributes is null || attributes.Count == 0)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        foreach (var (name, value) in attributes.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            WriteString(buffer, name);
            WriteString(buffer, value.DataType);
            if (value.BinaryValue is { } binary)
            {
                buffer.WriteByte(2);
                WriteBytes(buffer, binary);
            }
            else
            {
                buffer.WriteByte(1);
                WriteString(buffer, value.StringValue ?? "");
            }
        }

        return Convert.ToHexStringLower(MD5.HashData(buffer.ToArray()));
    }

    private static void WriteString(MemoryStream buffer, string value) => WriteBytes(buffer, Encoding.UTF8.GetBytes(value));

    private static void WriteBytes(MemoryStream buffer, byte[] value)
    {
        Span<byte> length = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, value.Length);
        buffer.Write(length);
        buffer.Write(value);
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, QueueMessageAttribute>))]
internal sealed partial class QueueJson : JsonSerializerContext;
