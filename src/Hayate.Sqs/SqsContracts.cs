using System.Text.Json.Serialization;

namespace Hayate.Sqs;

// The SQS shapes Hayate speaks, member names exactly as in the botocore model (sqs 2012-11-05, JSON 1.0).

public sealed class SqsAttributeValue
{
    public string? StringValue { get; set; }
    public byte[]? BinaryValue { get; set; }
    public List<string>? StringListValues { get; set; }
    public List<byte[]>? BinaryListValues { get; set; }
    public string? DataType { get; set; }
}

public sealed class SqsRequest
{
    public string? QueueName { get; set; }
    public string? QueueUrl { get; set; }
    public string? QueueNamePrefix { get; set; }
    public string? QueueOwnerAWSAccountId { get; set; }
    public string? NextToken { get; set; }
    public int? MaxResults { get; set; }
    public Dictionary<string, string>? Attributes { get; set; }
    [JsonPropertyName("tags")]
    public Dictionary<string, string>? Tags { get; set; }

    /// <summary>TagQueue's member, capitalised unlike CreateQueue's "tags".</summary>
    [JsonPropertyName("Tags")]
    public Dictionary<string, string>? QueueTags { get; set; }
    public List<string>? AttributeNames { get; set; }
    public List<string>? MessageSystemAttributeNames { get; set; }
    public List<string>? MessageAttributeNames { get; set; }
    public int? MaxNumberOfMessages { get; set; }
    public int? VisibilityTimeout { get; set; }
    public int? WaitTimeSeconds { get; set; }
    public string? ReceiveRequestAttemptId { get; set; }
    public string? MessageBody { get; set; }
    public int? DelaySeconds { get; set; }
    public Dictionary<string, SqsAttributeValue>? MessageAttributes { get; set; }
    public string? MessageDeduplicationId { get; set; }
    public string? MessageGroupId { get; set; }
    public string? ReceiptHandle { get; set; }
    public List<SqsBatchEntry>? Entries { get; set; }
    public List<string>? TagKeys { get; set; }
}

public sealed class SqsBatchEntry
{
    public string? Id { get; set; }
    public string? MessageBody { get; set; }
    public int? DelaySeconds { get; set; }
    public Dictionary<string, SqsAttributeValue>? MessageAttributes { get; set; }
    public string? MessageDeduplicationId { get; set; }
    public string? MessageGroupId { get; set; }
    public string? ReceiptHandle { get; set; }
    public int? VisibilityTimeout { get; set; }
}

public sealed class SqsQueueUrlResult
{
    public string? QueueUrl { get; set; }
}

public sealed class SqsListQueuesResult
{
    public List<string> QueueUrls { get; set; } = [];
    public string? NextToken { get; set; }
}

public sealed class SqsAttributesResult
{
    public Dictionary<string, string>? Attributes { get; set; }
}

public sealed class SqsSendResult
{
    public string? Id { get; set; }
    public string? MessageId { get; set; }
    public string? MD5OfMessageBody { get; set; }
    public string? MD5OfMessageAttributes { get; set; }
    public string? SequenceNumber { get; set; }
}

public sealed class SqsMessage
{
    public string? MessageId { get; set; }
    public string? ReceiptHandle { get; set; }
    public string? MD5OfBody { get; set; }
    public string? Body { get; set; }
    public Dictionary<string, string>? Attributes { get; set; }
    public string? MD5OfMessageAttributes { get; set; }
    public Dictionary<string, SqsAttributeValue>? MessageAttributes { get; set; }
}

public sealed class SqsReceiveResult
{
    public List<SqsMessage>? Messages { get; set; }
}

public sealed class SqsBatchResultEntry
{
    public string? Id { get; set; }
}

public sealed class SqsBatchError
{
    public string? Id { get; set; }
    public bool SenderFault { get; set; }
    public string? Code { get; set; }
    public string? Message { get; set; }
}

public sealed class SqsSendBatchResult
{
    public List<SqsSendResult> Successful { get; set; } = [];
    public List<SqsBatchError> Failed { get; set; } = [];
}

public sealed class SqsReceiptBatchResult
{
    public List<SqsBatchResultEntry> Successful { get; set; } = [];
    public List<SqsBatchError> Failed { get; set; } = [];
}

public sealed class SqsTagsResult
{
    public Dictionary<string, string>? Tags { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SqsRequest))]
[JsonSerializable(typeof(SqsQueueUrlResult))]
[JsonSerializable(typeof(SqsListQueuesResult))]
[JsonSerializable(typeof(SqsAttributesResult))]
[JsonSerializable(typeof(SqsSendResult))]
[JsonSerializable(typeof(SqsReceiveResult))]
[JsonSerializable(typeof(SqsSendBatchResult))]
[JsonSerializable(typeof(SqsReceiptBatchResult))]
[JsonSerializable(typeof(SqsTagsResult))]
internal sealed partial class SqsJson : JsonSerializerContext;
