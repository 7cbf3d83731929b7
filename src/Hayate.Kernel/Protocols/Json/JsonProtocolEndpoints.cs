using System.Text.Json;
using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Kernel.Protocols.Json;

/// <summary>
/// `POST /` for the AWS JSON protocols: dispatches on `X-Amz-Target: Prefix.Operation` to the
/// <see cref="JsonProtocolService"/> mapped for that prefix. Each service maps its own with
/// <see cref="MapJsonProtocol"/>; requests without an X-Amz-Target get the unknown-operation
/// answer of the rest-json APIs, as any other unmapped path does.
/// </summary>
public static class JsonProtocolEndpoints
{
    private const string DefaultContentType = "application/x-amz-json-1.1";

    /// <summary>Serves <paramref name="service"/> at `POST /` beside the JSON-protocol services already mapped.</summary>
    public static IEndpointRouteBuilder MapJsonProtocol(this IEndpointRouteBuilder app, JsonProtocolService service)
    {
        var services = app.ServiceProvider.GetRequiredService<JsonProtocolServices>();
        if (!services.ByPrefix.TryAdd(service.TargetPrefix, service))
        {
            throw new InvalidOperationException($"two JSON-protocol services answer to {service.TargetPrefix}");
        }

        if (services.ByPrefix.Count == 1)
        {
            app.MapPost("/", context => DispatchAsync(context, services.ByPrefix));
        }

        return app;
    }

    private static async Task DispatchAsync(HttpContext context, Dictionary<string, JsonProtocolService> services)
    {
        var target = context.Request.Headers["X-Amz-Target"].ToString();
        if (target.Length == 0)
        {
            // Not a JSON-protocol call: what the Lambda API answers for any path it does not know.
            await WireErrors.WriteAsync(context, LambdaErrors.UnknownOperation(context.Request.Method, context.Request.Path));
            return;
        }

        var dot = target.LastIndexOf('.');
        var prefix = dot < 0 ? target : target[..dot];
        var name = dot < 0 ? "" : target[(dot + 1)..];
        if (!services.TryGetValue(prefix, out var service))
        {
            await WriteErrorAsync(context, DefaultContentType, JsonProtocolErrors.UnknownOperation(target));
            return;
        }

        if (!service.Operations.TryGetValue(name, out var operation))
        {
            await WriteErrorAsync(context, service.ContentType, JsonProtocolErrors.UnknownOperation(target));
            return;
        }

        var body = await ApiRequest.ReadBodyAsync(context, service.MaxRequestSize, name);
        if (!body.Ok)
        {
            await WriteErrorAsync(context, service.ContentType, body.Error);
            return;
        }

        var reply = await operation(new JsonRequest(context, name, body.Value));
        if (!reply.Ok)
        {
            await WriteErrorAsync(context, service.ContentType, reply.Error);
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = service.ContentType;
        context.Response.ContentLength = reply.Value.Body.Length;
        await context.Response.Body.WriteAsync(reply.Value.Body, context.RequestAborted);
    }

    /// <summary>The JSON-protocol error shape: `{"__type": Name, "message": …}`, x-amzn-ErrorType, 400 (500 for faults).</summary>
    public static async Task WriteErrorAsync(HttpContext context, string contentType, LambdaError error)
    {
        var response = context.Response;
        response.StatusCode = error.Status;
        response.ContentType = contentType;
        response.Headers["x-amzn-ErrorType"] = error.Type;
        using var buffer = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("__type", error.Type);
            writer.WriteString("message", error.Message);
            writer.WriteEndObject();
        }

        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }
}

/// <summary>The JSON-protocol services mapped at `POST /`, by X-Amz-Target prefix; filled while endpoints are mapped, read-only after.</summary>
public sealed class JsonProtocolServices
{
    internal Dictionary<string, JsonProtocolService> ByPrefix { get; } = new(StringComparer.Ordinal);
}
