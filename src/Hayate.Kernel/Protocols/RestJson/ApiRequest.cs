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
        var tooLarge = AwsErrors.RequestTooLarge($"Request must be smaller than {limit} bytes for the {operation} operation");
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

    /// <summary>Reads the body (see <see cref="ReadBodyAsync"/>) and parses it (see <see cref="Parse"/>).</summary>
    public static async Task<Result<T>> ReadJsonAsync<T>(HttpContext context, long limit, string operation, JsonTypeInfo<T> type)
        where T : class, new()
    {
        var body = await ReadBodyAsync(context, limit, operation);
        return body.Ok ? Parse(body.Value, type) : body.Error;
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
                ? AwsErrors.InvalidRequestContent("Could not parse request body into json: the body is the JSON null, an object was expected.")
                : value;
        }
        catch (JsonException ex)
        {
            var where = ex.Path is { Length: > 0 } path ? $" at {path}" : "";
            var why = ex.Message.Contains("could not be converted", StringComparison.Ordinal) ? "a member has the wrong type" : "the body is not valid JSON";
            return AwsErrors.InvalidRequestContent($"Could not parse request body into json: {why}{where} (line {ex.LineNumber + 1}, position {ex.BytePositionInLine + 1}).");
        }
    }
}

/// <summary>A JSON answer in a model shape, with an exact Content-Length.</summary>
public static class AwsJson
{
    public static IResult Ok<T>(T value, JsonTypeInfo<T> type, int status = 200) => new JsonShape<T>(value, type, status);

    private sealed class JsonShape<T>(T value, JsonTypeInfo<T> type, int status) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(value, type);
            var response = httpContext.Response;
            response.StatusCode = status;
            response.ContentType = "application/json";
            response.ContentLength = bytes.Length;
            await response.Body.WriteAsync(bytes, httpContext.RequestAborted);
        }
    }
}

/// <summary>Results as answers: the value's answer, or the error in the request's protocol.</summary>
public static class ResultAnswers
{
    public static IResult ToHttp<T>(this Result<T> result, Func<T, IResult> answer) => result.Ok ? answer(result.Value) : result.Error;

    public static async Task<IResult> ToHttp<T>(this Task<Result<T>> result, Func<T, IResult> answer) => (await result).ToHttp(answer);

    /// <summary>204 No Content, or the error.</summary>
    public static IResult NoContentUnless(AwsError? error) => error ?? Results.NoContent();
}
