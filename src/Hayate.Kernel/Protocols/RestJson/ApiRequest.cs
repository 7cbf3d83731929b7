using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Hayate.Kernel.Errors;
using Microsoft.AspNetCore.Http;

namespace Hayate.Kernel.Protocols.RestJson;

/// <summary>Reads request bodies with a cap and parses JSON into the model's shapes, failing in the AWS wire shape.</summary>
public static class ApiRequest
{
    /// <summary>Reads the whole body, refusing it (413) as soon as it passes <paramref name="limit"/> bytes.</summary>
    public static async Task<Result<byte[]>> ReadBodyAsync(HttpContext context, long limit, string operation)
    {
        var request = context.Request;
        var tooLarge = new LambdaError("RequestTooLargeException", 413, $"Request must be smaller than {limit} bytes for the {operation} operation");
        if (request.ContentLength > limit)
        {
            return tooLarge;
        }

        var buffer = new ArrayBufferWriter<byte>(request.ContentLength is > 0 and var n ? (int)n : 4096);
        while (true)
        {
            var memory = buffer.GetMemory(64 * 1024);
            var read = await request.Body.ReadAsync(memory, context.RequestAborted);
            if (read == 0)
            {
                break;
            }

            buffer.Advance(read);
            if (buffer.WrittenCount > limit)
            {
                return tooLarge;
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Parses a JSON body; an empty body is an empty object, as AWS treats it.</summary>
    public static Result<T> Parse<T>(byte[] body, JsonTypeInfo<T> type)
        where T : class, new()
    {
        if (body.Length == 0)
        {
            return new T();
        }

        try
        {
            var value = JsonSerializer.Deserialize(body, type);
            return value is null
                ? LambdaErrors.InvalidRequestContent("Could not parse request body into json: the body is the JSON null, an object was expected.")
                : value;
        }
        catch (JsonException ex)
        {
            var where = ex.Path is { Length: > 0 } path ? $" at {path}" : "";
            var why = ex.Message.Contains("could not be converted", StringComparison.Ordinal) ? "a member has the wrong type" : "the body is not valid JSON";
            return LambdaErrors.InvalidRequestContent($"Could not parse request body into json: {why}{where} (line {ex.LineNumber + 1}, position {ex.BytePositionInLine + 1}).");
        }
    }
}

/// <summary>Writes JSON responses with an exact Content-Length.</summary>
public static class ApiResponse
{
    public static async Task WriteJsonAsync<T>(HttpContext context, int status, T value, JsonTypeInfo<T> type)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, type);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
    }
}
