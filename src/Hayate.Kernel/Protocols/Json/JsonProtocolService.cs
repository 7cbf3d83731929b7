using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Hayate.Kernel.Errors;
using Microsoft.AspNetCore.Http;

namespace Hayate.Kernel.Protocols.Json;

/// <summary>One operation of an AWS JSON-protocol service: reads the request, returns the reply or the error.</summary>
public delegate Task<Result<JsonReply>> JsonOperation(JsonRequest request);

/// <summary>
/// An AWS JSON-protocol service behind `POST /` (KMS, later SQS and Kinesis): the X-Amz-Target prefix
/// it answers to (TrentService, AmazonSQS, Kinesis_20131202), its JSON version and its operations by name.
/// </summary>
public sealed class JsonProtocolService
{
    public required string TargetPrefix { get; init; }

    /// <summary>"1.0" or "1.1", as the botocore model's metadata.jsonVersion says.</summary>
    public required string JsonVersion { get; init; }

    public required IReadOnlyDictionary<string, JsonOperation> Operations { get; init; }

    /// <summary>Largest request body accepted.</summary>
    public long MaxRequestSize { get; init; } = 1024 * 1024;

    public string ContentType => "application/x-amz-json-" + JsonVersion;

    /// <summary>How this service's errors are written.</summary>
    public JsonProtocol Protocol => field ??= new JsonProtocol(ContentType);
}

/// <summary>The request an operation sees: its body, parsed on demand, and the HTTP context for services.</summary>
public sealed class JsonRequest(HttpContext context, string operation, byte[] body)
{
    public HttpContext Context => context;

    public string Operation => operation;

    public IServiceProvider Services => context.RequestServices;

    public CancellationToken CancellationToken => context.RequestAborted;

    /// <summary>The body as <typeparamref name="T"/>; an empty body is an empty object. Bad JSON is a SerializationException, as AWS answers it.</summary>
    public Result<T> Parse<T>(JsonTypeInfo<T> type)
        where T : class, new()
    {
        if (body.Length == 0)
        {
            return new T();
        }

        try
        {
            return JsonSerializer.Deserialize(body, type) ?? new T();
        }
        catch (JsonException ex)
        {
            var where = ex.Path is { Length: > 0 } path ? $" at {path}" : "";
            var why = ex.InnerException is FormatException ? "a blob member is not valid base64"
                : ex.Message.Contains("could not be converted", StringComparison.Ordinal) ? "a member has the wrong type"
                : "the body is not valid JSON";
            return JsonProtocolErrors.Serialization($"Could not parse the request body: {why}{where}.");
        }
    }
}

/// <summary>A successful response body: JSON bytes, or nothing (operations whose output is empty).</summary>
public sealed class JsonReply
{
    private JsonReply(byte[] body) => Body = body;

    public byte[] Body { get; }

    public static JsonReply Empty { get; } = new([]);

    public static JsonReply Of<T>(T value, JsonTypeInfo<T> type) => new(JsonSerializer.SerializeToUtf8Bytes(value, type));
}

/// <summary>The errors the JSON-protocol front door itself raises.</summary>
public static class JsonProtocolErrors
{
    public static AwsError Serialization(string message) => new("SerializationException", 400, message);

    public static AwsError UnknownOperation(string target) => new("UnknownOperationException", 400, $"Unknown operation {target}");
}
