using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Sqs;

/// <summary>The SQS operations Hayate speaks (JSON 1.0, X-Amz-Target AmazonSQS.*), over <see cref="QueueService"/>.</summary>
public static class SqsEndpoints
{
    private const int MaxBatchEntries = 10;

    // botocore reads the legacy (query-protocol) code from x-amzn-query-error and maps the shape
    // name back through QueryErrorCode; e.Response['Error']['Code'] is the legacy code, as on AWS.
    private static readonly Dictionary<string, string> QueryCodes = new(StringComparer.Ordinal)
    {
        ["QueueDoesNotExist"] = "AWS.SimpleQueueService.NonExistentQueue",
        ["QueueNameExists"] = "QueueAlreadyExists",
        ["MessageNotInflight"] = "AWS.SimpleQueueService.MessageNotInflight",
        ["TooManyEntriesInBatchRequest"] = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        ["EmptyBatchRequest"] = "AWS.SimpleQueueService.EmptyBatchRequest",
        ["BatchEntryIdsNotDistinct"] = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        ["InvalidBatchEntryId"] = "AWS.SimpleQueueService.InvalidBatchEntryId",
        ["PurgeQueueInProgress"] = "AWS.SimpleQueueService.PurgeQueueInProgress",
        ["UnsupportedOperation"] = "AWS.SimpleQueueService.UnsupportedOperation",
    };

    public static JsonProtocolService Service { get; } = new()
    {
        TargetPrefix = "AmazonSQS",
        JsonVersion = "1.0",
        MaxRequestSize = 2 * 1024 * 1024,
        Operations = new Dictionary<string, JsonOperation>(StringComparer.Ordinal)
        {
            ["CreateQueue"] = Wrap(CreateQueue),
            ["GetQueueUrl"] = Wrap(GetQueueUrl),
            ["ListQueues"] = Wrap(ListQueues),
            ["DeleteQueue"] = Wrap(DeleteQueue),
            ["GetQueueAttributes"] = Wrap(GetQueueAttributes),
            ["SetQueueAttributes"] = Wrap(SetQueueAttributes),
            ["SendMessage"] = Wrap(SendMessage),
            ["SendMessageBatch"] = Wrap(SendMessageBatch),
            ["ReceiveMessage"] = Wrap(ReceiveMessage),
            ["DeleteMessage"] = Wrap(DeleteMessage),
            ["DeleteMessageBatch"] = Wrap(DeleteMessageBatch),
            ["ChangeMessageVisibility"] = Wrap(ChangeMessageVisibility),
            ["ChangeMessageVisibilityBatch"] = Wrap(ChangeMessageVisibilityBatch),
            ["PurgeQueue"] = Wrap(PurgeQueue),
            ["TagQueue"] = Wrap(TagQueue),
            ["UntagQueue"] = Wrap(UntagQueue),
            ["ListQueueTags"] = Wrap(ListQueueTags),
        },
    };

    private static JsonOperation Wrap(Func<JsonRequest, SqsRequest, QueueService, Task<Result<JsonReply>>> operation) => async request =>
    {
        var parsed = request.Parse(SqsJson.Default.SqsRequest);
        var reply = parsed.Ok ? await operation(request, parsed.Value, request.Services.GetRequiredService<QueueService>()) : parsed.Error;
        if (reply.Ok || reply.Error.Type.Contains('#', StringComparison.Ordinal) || reply.Error.Type == "SerializationException")
        {
            return reply;
        }

        var error = reply.Error;
        var fault = error.Status >= 500 ? "Receiver" : "Sender";
        request.Context.Response.Headers["x-amzn-query-error"] = $"{QueryCodes.GetValueOrDefault(error.Type, error.Type)};{fault}";
        return error with { Type = "com.amazonaws.sqs#" + error.Type };
    };

    private static string BaseUrl(JsonRequest request) => $"{request.Context.Request.Scheme}://{request.Context.Request.Host}";

    private static async Task<Result<JsonReply>> CreateQueue(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueName is null)
        {
            return QueueErrors.MissingParameter("QueueName");
        }

        var created = await queues.CreateQueueAsync(input.QueueName, input.Attributes, input.Tags, request.CancellationToken);
        return created.Ok ? QueueUrl(request, queues, created.Value.Name) : created.Error;
    }

    private static JsonReply QueueUrl(JsonRequest request, QueueService queues, string name) =>
        JsonReply.Of(new SqsQueueUrlResult { QueueUrl = queues.UrlOf(name, BaseUrl(request)) }, SqsJson.Default.SqsQueueUrlResult);

    private static async Task<Result<JsonReply>> GetQueueUrl(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueName is null)
        {
            return QueueErrors.MissingParameter("QueueName");
        }

        var found = await queues.GetQueueAsync(input.QueueName, request.CancellationToken);
        return found.Ok ? QueueUrl(request, queues, found.Value.Name) : found.Error;
    }

    private static async Task<Result<JsonReply>> ListQueues(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.MaxResults is < 1 or > 1000)
        {
            return QueueErrors.InvalidParameterValue("Value for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.");
        }

        string? after = null;
        if (input.NextToken is { Length: > 0 } token)
        {
            try
            {
                after = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token));
            }
            catch (FormatException)
            {
                return QueueErrors.InvalidParameterValue("Invalid NextToken value.");
            }
        }

        var (list, next) = await queues.ListQueuesAsync(input.QueueNamePrefix, input.MaxResults, after, request.CancellationToken);
        var baseUrl = BaseUrl(request);
        return JsonReply.Of(new SqsListQueuesResult
        {
            QueueUrls = list.Select(q => queues.UrlOf(q.Name, baseUrl)).ToList(),
            NextToken = next is null ? null : Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(next)),
        }, SqsJson.Default.SqsListQueuesResult);
    }

    private static async Task<Result<JsonReply>> DeleteQueue(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueUrl is null)
        {
            return QueueErrors.MissingParameter("QueueUrl");
        }

        var deleted = await queues.DeleteQueueAsync(input.QueueUrl, request.CancellationToken);
        return deleted.Ok ? JsonReply.Empty : deleted.Error;
    }

    private static async Task<Result<JsonReply>> GetQueueAttributes(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueUrl is null)
        {
            return QueueErrors.MissingParameter("QueueUrl");
        }

        var attributes = await queues.GetAttributesAsync(input.QueueUrl, input.AttributeNames ?? [], request.CancellationToken);
        if (!attributes.Ok)
        {
            return attributes.Error;
        }

        return JsonReply.Of(new SqsAttributesResult
        {
            Attributes = attributes.Value.Count == 0 ? null : new Dictionary<string, string>(attributes.Value),
        }, SqsJson.Default.SqsAttributesResult);
    }

    private static async Task<Result<JsonReply>> SetQueueAttributes(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueUrl is null)
        {
            return QueueErrors.MissingParameter("QueueUrl");
        }

        if (input.Attributes is null)
        {
            return QueueErrors.MissingParameter("Attributes");
        }

        var set = await queues.SetAttributesAsync(input.QueueUrl, input.Attributes, request.CancellationToken);
        return set.Ok ? JsonReply.Empty : set.Error;
    }

    private static Result<QueueSendRequest> ToSend(string? body, int? delay, Dictionary<string, SqsAttributeValue>? attributes, string? group, string? dedup)
    {
        if (body is null)
        {
            return QueueErrors.MissingParameter("MessageBody");
        }

        Dictionary<string, QueueMessageAttribute>? converted = null;
        if (attributes is { Count: > 0 })
        {
            converted = new Dictionary<string, QueueMessageAttribute>(StringComparer.Ordinal);
            foreach (var (name, value) in attributes)
            {
                if (value.DataType is null)
                {
                    return QueueErrors.InvalidParameterValue($"The message attribute '{name}' must contain non-empty message attribute type.");
                }

                if (value.StringListValues is { Count: > 0 } || value.BinaryListValues is { Count: > 0 })
                {
                    return new AwsError("UnsupportedOperation", 400, "Message attribute list values in SendMessage operation are not supported.");
                }

                converted[name] = new QueueMessageAttribute { DataType = value.DataType, StringValue = value.StringValue, BinaryValue = value.BinaryValue };
            }
        }

        return new QueueSendRequest { Body = body, DelaySeconds = delay, Attributes = converted, MessageGroupId = group, MessageDeduplicationId = dedup };
    }

    private static async Task<Result<JsonReply>> SendMessage(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueUrl is null)
        {
            return QueueErrors.MissingParameter("QueueUrl");
        }

        var send = ToSend(input.MessageBody, input.DelaySeconds, input.MessageAttributes, input.MessageGroupId, input.MessageDeduplicationId);
        if (!send.Ok)
        {
            return send.Error;
        }

        var sent = await queues.SendAsync(input.QueueUrl, send.Value, request.CancellationToken);
        return sent.Ok ? JsonReply.Of(ToResult(null, sent.Value), SqsJson.Default.SqsSendResult) : sent.Error;
    }

    private static SqsSendResult ToResult(string? id, QueueSendResult sent) => new()
    {
        Id = id,
        MessageId = sent.MessageId,
        MD5OfMessageBody = sent.Md5OfBody,
        MD5OfMessageAttributes = sent.Md5OfAttributes,
        SequenceNumber = sent.SequenceNumber,
    };

    private static AwsError? ValidateBatch(string operation, List<SqsBatchEntry>? entries)
    {
        if (entries is null || entries.Count == 0)
        {
            return new AwsError("EmptyBatchRequest", 400, $"There should be at least one {operation}RequestEntry in the request.");
        }

        if (entries.Count > MaxBatchEntries)
        {
            return new AwsError("TooManyEntriesInBatchRequest", 400, $"Maximum number of entries per request are {MaxBatchEntries}. You have sent {entries.Count}.");
        }

        foreach (var entry in entries)
        {
            if (entry.Id is null || entry.Id.Length is 0 or > 80 || !entry.Id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return new AwsError("InvalidBatchEntryId", 400, "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.");
            }
        }

        return entries.Select(e => e.Id).Distinct(StringComparer.Ordinal).Count() != entries.Count
            ? new AwsError("BatchEntryIdsNotDistinct", 400, "Two or more batch entries in the request have the same Id.")
            : null;
    }

    private static SqsBatchError BatchError(string id, AwsError error) => new()
    {
        Id = id,
        SenderFault = error.Status < 500,
        Code = QueryCodes.GetValueOrDefault(error.Type, error.Type),
        Message = error.Message,
    };

    private static async Task<Result<JsonReply>> SendMessageBatch(JsonRequest request, SqsRequest input, QueueService queues)
    {
        var queue = await BatchQueueAsync(request, input, queues);
        if (!queue.Ok)
        {
            return queue.Error;
        }

        var result = new SqsSendBatchResult();
        foreach (var entry in input.Entries!)
        {
            var send = ToSend(entry.MessageBody, entry.DelaySeconds, entry.MessageAttributes, entry.MessageGroupId, entry.MessageDeduplicationId);
            var sent = send.Ok ? await queues.SendAsync(queue.Value, send.Value, request.CancellationToken) : send.Error;
            if (sent.Ok)
            {
                result.Successful.Add(ToResult(entry.Id, sent.Value));
            }
            else
            {
                result.Failed.Add(BatchError(entry.Id!, sent.Error));
            }
        }

        return JsonReply.Of(result, SqsJson.Default.SqsSendBatchResult);
    }

    private static async Task<Result<JsonReply>> ReceiveMessage(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueUrl is null)
        {
            return QueueErrors.MissingParameter("QueueUrl");
        }

        var received = await queues.ReceiveAsync(input.QueueUrl, new QueueReceiveOptions
        {
            MaxMessages = input.MaxNumberOfMessages ?? 1,
            VisibilityTimeoutSeconds = input.VisibilityTimeout,
            WaitTimeSeconds = input.WaitTimeSeconds,
        }, request.CancellationToken);
        if (!received.Ok)
        {
            return received.Error;
        }

        var systemNames = (input.MessageSystemAttributeNames ?? []).Concat(input.AttributeNames ?? []).ToHashSet(StringComparer.Ordinal);
        var attributeNames = input.MessageAttributeNames ?? [];
        var messages = received.Value.Select(m =>
        {
            var system = m.SystemAttributes.Where(a => systemNames.Contains("All") || systemNames.Contains(a.Key)).ToDictionary(StringComparer.Ordinal);
            var attributes = m.Attributes.Where(a => WantAttribute(attributeNames, a.Key))
                .ToDictionary(a => a.Key, a => new SqsAttributeValue { DataType = a.Value.DataType, StringValue = a.Value.StringValue, BinaryValue = a.Value.BinaryValue }, StringComparer.Ordinal);
            return new SqsMessage
            {
                MessageId = m.MessageId,
                ReceiptHandle = m.ReceiptHandle,
                MD5OfBody = m.Md5OfBody,
                Body = m.Body,
                Attributes = system.Count == 0 ? null : system,
                // SQS digests every attribute of the message, whichever were asked for, and only reports it when some are returned.
                MD5OfMessageAttributes = attributes.Count == 0 ? null : m.Md5OfAttributes,
                MessageAttributes = attributes.Count == 0 ? null : attributes,
            };
        }).ToList();
        return JsonReply.Of(new SqsReceiveResult { Messages = messages.Count == 0 ? null : messages }, SqsJson.Default.SqsReceiveResult);
    }

    private static bool WantAttribute(List<string> names, string name) =>
        names.Any(n => n is "All" or ".*" || n == name || (n.EndsWith(".*", StringComparison.Ordinal) && name.StartsWith(n[..^1], StringComparison.Ordinal)));

    private static async Task<Result<JsonReply>> DeleteMessage(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueUrl is null || input.ReceiptHandle is null)
        {
            return QueueErrors.MissingParameter(input.QueueUrl is null ? "QueueUrl" : "ReceiptHandle");
        }

        var deleted = await queues.DeleteMessageAsync(input.QueueUrl, input.ReceiptHandle, request.CancellationToken);
        return deleted.Ok ? JsonReply.Empty : deleted.Error;
    }

    private static Task<Result<JsonReply>> DeleteMessageBatch(JsonRequest request, SqsRequest input, QueueService queues) =>
        ReceiptBatchAsync(request, input, queues, (queue, entry) => entry.ReceiptHandle is null
            ? Task.FromResult<Result<bool>>(QueueErrors.MissingParameter("ReceiptHandle"))
            : queues.DeleteMessageAsync(queue, entry.ReceiptHandle, request.CancellationToken));

    private static async Task<Result<JsonReply>> ChangeMessageVisibility(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueUrl is null || input.ReceiptHandle is null || input.VisibilityTimeout is null)
        {
            return QueueErrors.MissingParameter(input.QueueUrl is null ? "QueueUrl" : input.ReceiptHandle is null ? "ReceiptHandle" : "VisibilityTimeout");
        }

        var changed = await queues.ChangeVisibilityAsync(input.QueueUrl, input.ReceiptHandle, input.VisibilityTimeout.Value, request.CancellationToken);
        return changed.Ok ? JsonReply.Empty : changed.Error;
    }

    private static async Task<Result<JsonReply>> PurgeQueue(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueUrl is null)
        {
            return QueueErrors.MissingParameter("QueueUrl");
        }

        var purged = await queues.PurgeAsync(input.QueueUrl, request.CancellationToken);
        return purged.Ok ? JsonReply.Empty : purged.Error;
    }

    private static Task<Result<JsonReply>> ChangeMessageVisibilityBatch(JsonRequest request, SqsRequest input, QueueService queues) =>
        ReceiptBatchAsync(request, input, queues, (queue, entry) => entry.ReceiptHandle is null || entry.VisibilityTimeout is null
            ? Task.FromResult<Result<bool>>(QueueErrors.MissingParameter(entry.ReceiptHandle is null ? "ReceiptHandle" : "VisibilityTimeout"))
            : queues.ChangeVisibilityAsync(queue, entry.ReceiptHandle, entry.VisibilityTimeout.Value, request.CancellationToken));

    /// <summary>The checks every batch operation makes (QueueUrl, the entries' count and ids), and the queue it names.</summary>
    private static async Task<Result<QueueInfo>> BatchQueueAsync(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueUrl is null)
        {
            return QueueErrors.MissingParameter("QueueUrl");
        }

        if (ValidateBatch(request.Operation, input.Entries) is { } invalid)
        {
            return invalid;
        }

        return await queues.GetQueueAsync(input.QueueUrl, request.CancellationToken);
    }

    /// <summary>A batch of receipt-handle operations (delete, change visibility): each entry succeeds or fails on its own.</summary>
    private static async Task<Result<JsonReply>> ReceiptBatchAsync(JsonRequest request, SqsRequest input, QueueService queues, Func<string, SqsBatchEntry, Task<Result<bool>>> apply)
    {
        var queue = await BatchQueueAsync(request, input, queues);
        if (!queue.Ok)
        {
            return queue.Error;
        }

        var result = new SqsReceiptBatchResult();
        foreach (var entry in input.Entries!)
        {
            var done = await apply(queue.Value.Name, entry);
            if (done.Ok)
            {
                result.Successful.Add(new SqsBatchResultEntry { Id = entry.Id });
            }
            else
            {
                result.Failed.Add(BatchError(entry.Id!, done.Error));
            }
        }

        return JsonReply.Of(result, SqsJson.Default.SqsReceiptBatchResult);
    }

    private static async Task<Result<JsonReply>> TagQueue(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueUrl is null || input.QueueTags is null)
        {
            return QueueErrors.MissingParameter(input.QueueUrl is null ? "QueueUrl" : "Tags");
        }

        var tagged = await queues.ChangeTagsAsync(input.QueueUrl, input.QueueTags, [], request.CancellationToken);
        return tagged.Ok ? JsonReply.Empty : tagged.Error;
    }

    private static async Task<Result<JsonReply>> UntagQueue(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueUrl is null || input.TagKeys is null)
        {
            return QueueErrors.MissingParameter(input.QueueUrl is null ? "QueueUrl" : "TagKeys");
        }

        var untagged = await queues.ChangeTagsAsync(input.QueueUrl, new Dictionary<string, string>(), input.TagKeys, request.CancellationToken);
        return untagged.Ok ? JsonReply.Empty : untagged.Error;
    }

    private static async Task<Result<JsonReply>> ListQueueTags(JsonRequest request, SqsRequest input, QueueService queues)
    {
        if (input.QueueUrl is null)
        {
            return QueueErrors.MissingParameter("QueueUrl");
        }

        var tags = await queues.ListTagsAsync(input.QueueUrl, request.CancellationToken);
        if (!tags.Ok)
        {
            return tags.Error;
        }

        return JsonReply.Of(new SqsTagsResult { Tags = tags.Value.Count == 0 ? null : tags.Value.ToDictionary(StringComparer.Ordinal) }, SqsJson.Default.SqsTagsResult);
    }
}
