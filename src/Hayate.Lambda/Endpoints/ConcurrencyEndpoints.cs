using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Kernel.Time;
using Hayate.Lambda.Concurrency;
using Hayate.Lambda.Functions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Lambda.Endpoints;

// Reserved concurrency (Put/Get/DeleteFunctionConcurrency) and provisioned concurrency configurations.
public static partial class LambdaEndpoints
{
    private static void MapConcurrency(this IEndpointRouteBuilder app)
    {
        app.MapPut("/2017-10-31/functions/{FunctionName}/concurrency", Handle(PutFunctionConcurrency));
        app.MapGet("/2019-09-30/functions/{FunctionName}/concurrency", Handle(GetFunctionConcurrency));
        app.MapDelete("/2017-10-31/functions/{FunctionName}/concurrency", Handle(DeleteFunctionConcurrency));
        app.MapPut("/2019-09-30/functions/{FunctionName}/provisioned-concurrency", Handle(PutProvisionedConcurrencyConfig));
        app.MapGet("/2019-09-30/functions/{FunctionName}/provisioned-concurrency", Handle(GetProvisionedConcurrency));
        app.MapDelete("/2019-09-30/functions/{FunctionName}/provisioned-concurrency", Handle(DeleteProvisionedConcurrencyConfig));
    }

    private static async Task<LambdaError?> PutFunctionConcurrency(HttpContext context)
    {
        var concurrency = context.RequestServices.GetRequiredService<FunctionConcurrency>();
        var parsed = await ReadFunctionRequestAsync(context, 64 * 1024, "PutFunctionConcurrency", LambdaJson.Default.ConcurrencyShape);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var (reference, request) = parsed.Value;

        var value = request.ReservedConcurrentExecutions;
        var error = RequireMembers(("reservedConcurrentExecutions", value))
            ?? (value < 0 ? LambdaErrors.Validation("reservedConcurrentExecutions", value.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), "Member must have value greater than or equal to 0") : null);
        if (error is not null)
        {
            return error;
        }

        var put = await concurrency.PutReservedAsync(reference, value!.Value, context.RequestAborted);
        if (!put.Ok)
        {
            return put.Error;
        }

        await ApiResponse.WriteJsonAsync(context, 200, new ConcurrencyShape { ReservedConcurrentExecutions = put.Value }, LambdaJson.Default.ConcurrencyShape);
        return null;
    }

    private static async Task<LambdaError?> GetFunctionConcurrency(HttpContext context)
    {
        var concurrency = context.RequestServices.GetRequiredService<FunctionConcurrency>();
        var reference = ReferenceOf(context);
        var reserved = reference.Ok ? await concurrency.GetReservedAsync(reference.Value, context.RequestAborted) : reference.Error;
        if (!reserved.Ok)
        {
            return reserved.Error;
        }

        await ApiResponse.WriteJsonAsync(context, 200, new ConcurrencyShape { ReservedConcurrentExecutions = reserved.Value }, LambdaJson.Default.ConcurrencyShape);
        return null;
    }

    private static async Task<LambdaError?> DeleteFunctionConcurrency(HttpContext context)
    {
        var concurrency = context.RequestServices.GetRequiredService<FunctionConcurrency>();
        var reference = ReferenceOf(context);
        var error = reference.Ok ? await concurrency.DeleteReservedAsync(reference.Value, context.RequestAborted) : reference.Error;
        return NoContent(context, error);
    }

    private static async Task<LambdaError?> PutProvisionedConcurrencyConfig(HttpContext context)
    {
        var concurrency = context.RequestServices.GetRequiredService<FunctionConcurrency>();
        var parsed = await ReadFunctionRequestAsync(context, 64 * 1024, "PutProvisionedConcurrencyConfig", LambdaJson.Default.PutProvisionedConcurrencyConfigRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var (reference, request) = parsed.Value;

        var value = request.ProvisionedConcurrentExecutions;
        var error = RequireMembers(("provisionedConcurrentExecutions", value))
            ?? (value < 1 ? LambdaErrors.Validation("provisionedConcurrentExecutions", value.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), "Member must have value greater than or equal to 1") : null);
        if (error is not null)
        {
            return error;
        }

        var put = await concurrency.PutProvisionedAsync(reference, value!.Value, context.RequestAborted);
        if (!put.Ok)
        {
            return put.Error;
        }

        await ApiResponse.WriteJsonAsync(context, 202, ProvisionedShape(context, put.Value, withArn: false), LambdaJson.Default.ProvisionedConcurrencyConfigShape);
        return null;
    }

    /// <summary>GET on provisioned-concurrency: one configuration with ?Qualifier, every one with ?List=ALL.</summary>
    private static async Task<LambdaError?> GetProvisionedConcurrency(HttpContext context)
    {
        var concurrency = context.RequestServices.GetRequiredService<FunctionConcurrency>();
        var reference = ReferenceOf(context);
        if (!reference.Ok)
        {
            return reference.Error;
        }

        if (context.Request.Query.ContainsKey("List"))
        {
            var page = Page.Read(context);
            var all = page.Ok ? await concurrency.ListProvisionedAsync(reference.Value, context.RequestAborted) : page.Error;
            if (!all.Ok)
            {
                return all.Error;
            }

            var (items, next) = Page.Slice(all.Value, s => s.Config.Qualifier, page.Value);
            var response = new ListProvisionedConcurrencyConfigsResponse
            {
                ProvisionedConcurrencyConfigs = items.Select(s => ProvisionedShape(context, s, withArn: true)).ToList(),
                NextMarker = next,
            };
            await ApiResponse.WriteJsonAsync(context, 200, response, LambdaJson.Default.ListProvisionedConcurrencyConfigsResponse);
            return null;
        }

        var status = await concurrency.GetProvisionedAsync(reference.Value, context.RequestAborted);
        if (!status.Ok)
        {
            return status.Error;
        }

        await ApiResponse.WriteJsonAsync(context, 200, ProvisionedShape(context, status.Value, withArn: false), LambdaJson.Default.ProvisionedConcurrencyConfigShape);
        return null;
    }

    private static async Task<LambdaError?> DeleteProvisionedConcurrencyConfig(HttpContext context)
    {
        var concurrency = context.RequestServices.GetRequiredService<FunctionConcurrency>();
        var reference = ReferenceOf(context);
        var error = reference.Ok ? await concurrency.DeleteProvisionedAsync(reference.Value, context.RequestAborted) : reference.Error;
        return NoContent(context, error);
    }

    private static ProvisionedConcurrencyConfigShape ProvisionedShape(HttpContext context, ProvisionedStatus status, bool withArn) => new()
    {
        FunctionArn = withArn ? context.RequestServices.GetRequiredService<FunctionManager>().ArnOf(status.Config.FunctionName, status.Config.Qualifier) : null,
        RequestedProvisionedConcurrentExecutions = status.Config.Requested,
        AvailableProvisionedConcurrentExecutions = status.Available,
        AllocatedProvisionedConcurrentExecutions = status.Available,
        Status = status.Status,
        StatusReason = status.Reason,
        LastModified = AwsTime.Format(status.Config.LastModified),
    };
}
