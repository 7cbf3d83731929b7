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
    private static readonly JsonProtocol DefaultProtocol = new("application/x-amz-json-1.1");

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
            await AwsErrors.UnknownOperation(context.Request.Method, context.Request.Path).ExecuteAsync(context);
            return;
        }

        var dot = target.LastIndexOf('.');
        var prefix = dot < 0 ? target : target[..dot];
        var name = dot < 0 ? "" : target[(dot + 1)..];
        if (!services.TryGetValue(prefix, out var service))
        {
            context.Features.Set<AwsProtocol>(DefaultProtocol);
            await JsonProtocolErrors.UnknownOperation(target).ExecuteAsync(context);
            return;
        }

        context.Features.Set<AwsProtocol>(service.Protocol);

        if (!service.Operations.TryGetValue(name, out var operation))
        {
            await JsonProtocolErrors.UnknownOperation(target).ExecuteAsync(context);
            return;
        }

        var body = await ApiRequest.ReadBodyAsync(context, service.MaxRequestSize, name);
        if (!body.Ok)
        {
            await body.Error.ExecuteAsync(context);
            return;
        }

        var reply = await operation(new JsonRequest(context, name, body.Value));
        if (!reply.Ok)
        {
            await reply.Error.ExecuteAsync(context);
            return;
        }

        context.Response.StatusCode = 200;
        context.Response.ContentType = service.ContentType;
        context.Response.ContentLength = reply.Value.Body.Length;
        await context.Response.Body.WriteAsync(reply.Value.Body, context.RequestAborted);
    }
}

/// <summary>The JSON-protocol services mapped at `POST /`, by X-Amz-Target prefix; filled while endpoints are mapped, read-only after.</summary>
public sealed class JsonProtocolServices
{
    internal Dictionary<string, JsonProtocolService> ByPrefix { get; } = new(StringComparer.Ordinal);
}
