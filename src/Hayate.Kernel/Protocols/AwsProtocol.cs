using System.Globalization;
using System.Text.Json;
using Hayate.Kernel.Errors;
using Microsoft.AspNetCore.Http;

namespace Hayate.Kernel.Protocols;

/// <summary>
/// The wire protocol a request came in by, which decides the shape of its errors. Endpoints carry it
/// as metadata (a service's rest-json group); a front door that serves several services at one
/// path sets it per request as a feature (the JSON protocol's `POST /`). Rest-json is the default.
/// </summary>
public abstract class AwsProtocol
{
    public abstract Task WriteErrorAsync(HttpContext context, AwsError error);

    public static AwsProtocol Of(HttpContext context) =>
        context.Features.Get<AwsProtocol>() ?? context.GetEndpoint()?.Metadata.GetMetadata<AwsProtocol>() ?? RestJsonProtocol.Plain;

    /// <summary>The headers every error shape carries: status, x-amzn-ErrorType, and Retry-After on throttles.</summary>
    protected static void WriteHead(HttpContext context, AwsError error, string contentType)
    {
        var response = context.Response;
        response.StatusCode = error.Status;
        response.ContentType = contentType;
        response.Headers["x-amzn-ErrorType"] = error.Type;
        if (error.RetryAfterSeconds is { } retry)
        {
            response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
        }
    }

    protected static async Task WriteBodyAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        context.Response.ContentLength = buffer.Length;
        await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }
}

/// <summary>
/// rest-json errors: `{"Type": "User"|"Service", "message": …, "Reason": …}`. The model spells the
/// message member "Message" for some shapes; a service names those (Lambda's ResourceNotFoundException).
/// </summary>
public sealed class RestJsonProtocol(IReadOnlySet<string> capitalMessageTypes) : AwsProtocol
{
    /// <summary>"message" for every shape.</summary>
    public static RestJsonProtocol Plain { get; } = new(new HashSet<string>());

    public override Task WriteErrorAsync(HttpContext context, AwsError error)
    {
        WriteHead(context, error, "application/json");
        return WriteBodyAsync(context, writer =>
        {
            writer.WriteString("Type", error.Kind);
            writer.WriteString(capitalMessageTypes.Contains(error.Type) ? "Message" : "message", error.Message);
            if (error.Reason is not null)
            {
                writer.WriteString("Reason", error.Reason);
            }
        });
    }
}

/// <summary>JSON-protocol errors: `{"__type": Name, "message": …}` with the service's `application/x-amz-json-1.x`.</summary>
public sealed class JsonProtocol(string contentType) : AwsProtocol
{
    public string ContentType => contentType;

    public override Task WriteErrorAsync(HttpContext context, AwsError error)
    {
        WriteHead(context, error, contentType);
        return WriteBodyAsync(context, writer =>
        {
            writer.WriteString("__type", error.Type);
            writer.WriteString("message", error.Message);
        });
    }
}
