using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Invoking;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Hosting;

namespace Hayate.Lambda.Endpoints;

// Put/Update/Get/Delete/ListFunctionEventInvokeConfig(s), and the deprecated InvokeAsync.
public static partial class LambdaEndpoints
{
    private static void MapEventInvoke(RouteGroupBuilder api)
    {
        var config = api.MapGroup("/2019-09-25/functions/{FunctionName}/event-invoke-config");
        config.MapPut("", (string functionName, HttpContext context, EventInvokeConfigs configs, FunctionManager manager) =>
            PutEventInvokeConfig(functionName, context, configs, manager, merge: false));
        config.MapPost("", (string functionName, HttpContext context, EventInvokeConfigs configs, FunctionManager manager) =>
            PutEventInvokeConfig(functionName, context, configs, manager, merge: true));
        config.MapGet("", GetEventInvokeConfig);
        config.MapDelete("", DeleteEventInvokeConfig);
        config.MapGet("/list", ListEventInvokeConfigs);
        api.MapPost("/2014-11-13/functions/{FunctionName}/invoke-async", InvokeAsyncDeprecated);
    }

    private static Task<IResult> PutEventInvokeConfig(string functionName, HttpContext context, EventInvokeConfigs configs, FunctionManager manager, bool merge) =>
        ReadFunctionRequestAsync(functionName, context, MaxSmallRequest, merge ? "UpdateFunctionEventInvokeConfig" : "PutFunctionEventInvokeConfig", LambdaJson.Default.EventInvokeConfigRequest)
            .ThenAsync(p =>
            {
                var r = p.Request;
                var settings = new EventInvokeSettings(r.MaximumRetryAttempts, r.MaximumEventAgeInSeconds,
                    r.DestinationConfig?.OnSuccess is { } success ? success.Destination ?? "" : null,
                    r.DestinationConfig?.OnFailure is { } failure ? failure.Destination ?? "" : null);
                return configs.PutAsync(p.Reference, settings, merge, context.RequestAborted);
            })
            .ToHttp(c => AwsJson.Ok(EventInvokeShape(manager, c), LambdaJson.Default.EventInvokeConfigShape));

    private static Task<IResult> GetEventInvokeConfig(string functionName, HttpContext context, EventInvokeConfigs configs, FunctionManager manager) =>
        ReferenceOf(functionName, context)
            .ThenAsync(reference => configs.GetAsync(reference, context.RequestAborted))
            .ToHttp(c => AwsJson.Ok(EventInvokeShape(manager, c), LambdaJson.Default.EventInvokeConfigShape));

    private static async Task<IResult> DeleteEventInvokeConfig(string functionName, HttpContext context, EventInvokeConfigs configs)
    {
        var reference = ReferenceOf(functionName, context);
        return ResultAnswers.NoContentUnless(reference.Ok ? await configs.DeleteAsync(reference.Value, context.RequestAborted) : reference.Error);
    }

    private static async Task<IResult> ListEventInvokeConfigs(string functionName, HttpContext context, EventInvokeConfigs configs, FunctionManager manager)
    {
        var reference = ReferenceOf(functionName, context);
        var page = Page.Read(context, 50);
        if (!reference.Ok || !page.Ok)
        {
            return reference.Error ?? page.Error!;
        }

        return await configs.ListAsync(reference.Value, context.RequestAborted).ToHttp(all =>
        {
            var (items, next) = Page.Slice(all, c => c.Qualifier, page.Value);
            return AwsJson.Ok(new ListEventInvokeConfigsResponse
            {
                FunctionEventInvokeConfigs = items.Select(c => EventInvokeShape(manager, c)).ToList(),
                NextMarker = next,
            }, LambdaJson.Default.ListEventInvokeConfigsResponse);
        });
    }

    /// <summary>The deprecated InvokeAsync: an Event invocation answering 202 {"Status": 202}.</summary>
    private static async Task<IResult> InvokeAsyncDeprecated(string functionName, HttpContext context, Invoker invoker, IHostApplicationLifetime lifetime)
    {
        var reference = ReferenceOf(functionName, context);
        if (!reference.Ok)
        {
            return reference.Error;
        }

        var body = await ApiRequest.ReadBodyAsync(context, Limits.MaxAsyncPayload, "InvokeAsync");
        if (!body.Ok)
        {
            return body.Error;
        }

        var call = new InvokeCall(reference.Value, InvocationType.Event, body.Value, false, null) { RequestId = AwsRequestId.Of(context) };
        return await invoker.InvokeAsync(call, lifetime.ApplicationStopping)
            .ToHttp(_ => AwsJson.Ok(new InvokeAsyncResponse { Status = 202 }, LambdaJson.Default.InvokeAsyncResponse, 202));
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
