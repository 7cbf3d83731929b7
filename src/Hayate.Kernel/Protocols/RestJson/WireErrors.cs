using System.Globalization;
using System.Text.Json;
using Hayate.Kernel.Errors;
using Microsoft.AspNetCore.Http;

namespace Hayate.Kernel.Protocols.RestJson;

/// <summary>The one place a LambdaError becomes an HTTP response in the rest-json error shape.</summary>
public static class WireErrors
{
    public static async Task WriteAsync(HttpContext context, LambdaError error)
    {
        var response = context.Response;
        response.StatusCode = error.Status;
        response.Headers["x-amzn-ErrorType"] = error.Type;
        response.ContentType = "application/json";
        if (error.RetryAfterSeconds is { } retry)
        {
            response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
        }

        using var buffer = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("Type", error.Kind);
            writer.WriteString(error.MessageMember, error.Message);
            if (error.Reason is not null)
            {
                writer.WriteString("Reason", error.Reason);
            }

            writer.WriteEndObject();
        }

        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }
}
