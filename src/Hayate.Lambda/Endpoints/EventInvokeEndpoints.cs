using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Invoking;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Lambda.Endpoints;

// Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s), and the deprecated InvokeAsync.
public static partial class LambdaEndpoints
{
    private static void MapEventInvoke(this IEndpointRouteBuilder app)
    {
        app.MapPut("/2019-09-25/functions/{FunctionName}/event-invoke-config", Handle(context => PutEventInvokeConfig(context, merge: false)));
        app.MapPost("/2019-09-25/functions/{FunctionName}/event-invoke-config", Handle(context => PutEventInvokeConfig(context, merge: true)));
        app.MapGet("/2019-09-25/functions/{FunctionName}/event-invoke-config", Handle(GetEventInvokeConfig));
        app.MapDelete("/2019-09-25/functions/{FunctionName}/event-invoke-config", Handle(DeleteEventInvokeConfig));
        app.MapGet("/2019-09-25/functions/{FunctionName}/event-invoke-config/list", Handle(ListEventInvokeConfigs));
        app.MapPost("/2014-11-13/functions/{FunctionName}/invoke-async", Handle(InvokeAsyncDeprecated));
    }

    private static async Task<LambdaError?> PutEventInvokeConfig(HttpContext context, bool merge)
    {
        var configs = context.RequestServices.GetRequiredService<EventInvokeConfigs>();
        var parsed = await ReadFunctionRequestAsync(context, 64 * 1024, merge ? "UpdateFunctionEventInvokeConfig" : "PutFunctionEventInvokeConfig", LambdaJson.Default.EventInvokeConfigRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var (reference, r) = parsed.Value;

        var settings = new EventInvokeSettings(r.MaximumRetryAttempts, r.MaximumEventAgeInSeconds,
            r.DestinationConfig?.OnSuccess is { } success ? success.Destination ?? "" : null,
            r.DestinationConfig?.OnFailure is { } failure ? failure.Destination ?? "" : null);
        var put = await configs.PutAsync(reference, settings, merge, context.RequestAborted);
        return await RespondEventInvokeConfigAsync(context, put);
    }

    private static async Task<LambdaError?> GetEventInvokeConfig(HttpContext context)
    {
        var configs = context.RequestServices.GetRequiredService<EventInvokeConfigs>();
        var reference = ReferenceOf(context);
        return reference.Ok ? await RespondEventInvokeConfigAsync(context, await configs.GetAsync(reference.Value, context.RequestAborted)) : reference.Error;
    }

    private static async Task<LambdaError?> DeleteEventInvokeConfig(HttpContext context)
    {
        var configs = context.RequestServices.GetRequiredService<EventInvokeConfigs>();
        var reference = ReferenceOf(context);
        var error = reference.Ok ? await configs.DeleteAsync(reference.Value, context.RequestAborted) : reference.Error;
        return NoContent(context, error);
    }

    private static async Task<LambdaError?> ListEventInvokeConfigs(HttpContext context)
    {
        var configs = context.RequestServices.GetRequiredService<EventInvokeConfigs>();
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var reference = ReferenceOf(context);
        var page = Page.Read(context, 50);
        if (!reference.Ok || !page.Ok)
        {
            return reference.Ok ? page.Error : reference.Error;
        }

        var all = await configs.ListAsync(reference.Value, context.RequestAborted);
        if (!all.Ok)
        {
            return all.Error;
        }

        var (items, next) = Page.Slice(all.Value, c => c.Qualifier, page.Value);
        var response = new ListEventInvokeConfigsResponse
        {
            FunctionEventInvokeConfigs = items.Select(c => EventInvokeShape(manager, c)).ToList(),
            NextMarker = next,
        };
        await ApiResponse.WriteJsonAsync(context, 200, response, LambdaJson.Default.ListEventInvokeConfigsResponse);
        return null;
    }

    /// <summary>The deprecated InvokeAsync: an Event invocation answering 202 {"Status": 202}.</summary>
    private static async Task<LambdaError?> InvokeAsyncDeprecated(HttpContext context)
    {
        var invoker = context.RequestServices.GetRequiredService<Invoker>();
        var reference = ReferenceOf(context);
        if (!reference.Ok)
        {
            return reference.Error;
        }

        var body = await ApiRequest.ReadBodyAsync(context, Limits.MaxAsyncPayload, "InvokeAsync");
        if (!body.Ok)
        {
            return body.Error;
        }

        var call = new InvokeCall(reference.Value, InvocationType.Event, body.Value, false, null)
        {
            RequestId = context.Response.Headers["x-amzn-RequestId"].ToString() is { Length: > 0 } id ? id : Invoker.NewRequestId(),
        };
        var stopping = context.RequestServices.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>().ApplicationStopping;
        var result = await invoker.InvokeAsync(call, stopping);
        if (!result.Ok)
        {
            return result.Error;
        }

        await ApiResponse.WriteJsonAsync(context, 202, new InvokeAsyncResponse { Status = 202 }, LambdaJson.Default.InvokeAsyncResponse);
        return null;
    }

    private static async Task<LambdaError?> RespondEventInvokeConfigAsync(HttpContext context, Result<EventInvokeConfig> config)
    {
        if (!config.Ok)
        {
            return config.Error;
        }

        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        await ApiResponse.WriteJsonAsync(context, 200, EventInvokeShape(manager, config.Value), LambdaJson.Default.EventInvokeConfigShape);
        return null;
    }

    private static EventInvokeConfigShape EventInvokeShape(FunctionManager manager, EventInvokeConfig c) => new()
    {
        FunctionArn = manager.ArnOf(c.FunctionName, c.Qualifier),
        LastModified = c.LastModified.ToUnixTimeMilliseconds() / 1000.0,
        MaximumRetryAttempts = c.MaximumRetryAttempts,
        MaximumEventAgeInSeconds = c.MaximumEventAgeInSeconds,
        DestinationConfig = new DestinationConfigShape
        {
            OnSuccess = new DestinationShape { Destination = c.OnSuccess },
            OnFailure = new DestinationShape { Destination = c.OnFailure },
        },
    };
}
