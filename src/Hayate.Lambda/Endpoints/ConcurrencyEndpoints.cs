using System.Globalization;
using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Kernel.Time;
using Hayate.Lambda.Concurrency;
using Hayate.Lambda.Functions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hayate.Lambda.Endpoints;

// Reserved concurrency (Put/Get/DeleteFunctionConcurrency) and provisioned concurrency configurations.
public static partial class LambdaEndpoints
{
    private const long MaxSmallRequest = 64 * 1024;

    private static void MapConcurrency(RouteGroupBuilder api)
    {
        api.MapPut("/2017-10-31/functions/{FunctionName}/concurrency", PutFunctionConcurrency);
        api.MapGet("/2019-09-30/functions/{FunctionName}/concurrency", GetFunctionConcurrency);
        api.MapDelete("/2017-10-31/functions/{FunctionName}/concurrency", DeleteFunctionConcurrency);
        var provisioned = api.MapGroup("/2019-09-30/functions/{FunctionName}/provisioned-concurrency");
        provisioned.MapPut("", PutProvisionedConcurrencyConfig);
        provisioned.MapGet("", GetProvisionedConcurrency);
        provisioned.MapDelete("", DeleteProvisionedConcurrencyConfig);
    }

    private static Task<IResult> PutFunctionConcurrency(string functionName, HttpContext context, FunctionConcurrency concurrency) =>
        ReadFunctionRequestAsync(functionName, context, MaxSmallRequest, "PutFunctionConcurrency", LambdaJson.Default.ConcurrencyShape)
            .Check(r => AtLeast("reservedConcurrentExecutions", r.Request.ReservedConcurrentExecutions, 0))
            .ThenAsync(r => concurrency.PutReservedAsync(r.Reference, r.Request.ReservedConcurrentExecutions!.Value, context.RequestAborted))
            .ToHttp(reserved => AwsJson.Ok(new ConcurrencyShape { ReservedConcurrentExecutions = reserved }, LambdaJson.Default.ConcurrencyShape));

    private static Task<IResult> GetFunctionConcurrency(string functionName, HttpContext context, FunctionConcurrency concurrency) =>
        ReferenceOf(functionName, context)
            .ThenAsync(reference => concurrency.GetReservedAsync(reference, context.RequestAborted))
            .ToHttp(reserved => AwsJson.Ok(new ConcurrencyShape { ReservedConcurrentExecutions = reserved }, LambdaJson.Default.ConcurrencyShape));

    private static async Task<IResult> DeleteFunctionConcurrency(string functionName, HttpContext context, FunctionConcurrency concurrency)
    {
        var reference = ReferenceOf(functionName, context);
        return ResultAnswers.NoContentUnless(reference.Ok ? await concurrency.DeleteReservedAsync(reference.Value, context.RequestAborted) : reference.Error);
    }

    private static Task<IResult> PutProvisionedConcurrencyConfig(string functionName, HttpContext context, FunctionConcurrency concurrency, FunctionManager manager) =>
        ReadFunctionRequestAsync(functionName, context, MaxSmallRequest, "PutProvisionedConcurrencyConfig", LambdaJson.Default.PutProvisionedConcurrencyConfigRequest)
            .Check(r => AtLeast("provisionedConcurrentExecutions", r.Request.ProvisionedConcurrentExecutions, 1))
            .ThenAsync(r => concurrency.PutProvisionedAsync(r.Reference, r.Request.ProvisionedConcurrentExecutions!.Value, context.RequestAborted))
            .ToHttp(status => AwsJson.Ok(ProvisionedShape(manager, status, withArn: false), LambdaJson.Default.ProvisionedConcurrencyConfigShape, 202));

    /// <summary>GET on provisioned-concurrency: one configuration with ?Qualifier, every one with ?List=ALL.</summary>
    private static async Task<IResult> GetProvisionedConcurrency(string functionName, HttpContext context, FunctionConcurrency concurrency, FunctionManager manager)
    {
        var reference = ReferenceOf(functionName, context);
        if (!reference.Ok)
        {
            return reference.Error;
        }

        if (!context.Request.Query.ContainsKey("List"))
        {
            return await concurrency.GetProvisionedAsync(reference.Value, context.RequestAborted)
                .ToHttp(status => AwsJson.Ok(ProvisionedShape(manager, status, withArn: false), LambdaJson.Default.ProvisionedConcurrencyConfigShape));
        }

        var page = Page.Read(context);
        return await page.ThenAsync(_ => concurrency.ListProvisionedAsync(reference.Value, context.RequestAborted)).ToHttp(all =>
        {
            var (items, next) = Page.Slice(all, s => s.Config.Qualifier, page.Value);
            return AwsJson.Ok(new ListProvisionedConcurrencyConfigsResponse
            {
                ProvisionedConcurrencyConfigs = items.Select(s => ProvisionedShape(manager, s, withArn: true)).ToList(),
                NextMarker = next,
            }, LambdaJson.Default.ListProvisionedConcurrencyConfigsResponse);
        });
    }

    private static async Task<IResult> DeleteProvisionedConcurrencyConfig(string functionName, HttpContext context, FunctionConcurrency concurrency)
    {
        var reference = ReferenceOf(functionName, context);
        return ResultAnswers.NoContentUnless(reference.Ok ? await concurrency.DeleteProvisionedAsync(reference.Value, context.RequestAborted) : reference.Error);
    }

    /// <summary>A required count: missing is a ValidationException, below <paramref name="minimum"/> too.</summary>
    private static AwsError? AtLeast(string member, int? value, int minimum) =>
        RequireMembers((member, value))
        ?? (value < minimum ? AwsErrors.Validation(member, value.Value.ToString(CultureInfo.InvariantCulture), $"Member must have value greater than or equal to {minimum}") : null);

    private static ProvisionedConcurrencyConfigShape ProvisionedShape(FunctionManager manager, ProvisionedStatus status, bool withArn) => new()
    {
        FunctionArn = withArn ? manager.ArnOf(status.Config.FunctionName, status.Config.Qualifier) : null,
        RequestedProvisionedConcurrentExecutions = status.Config.Requested,
        AvailableProvisionedConcurrentExecutions = status.Available,
        AllocatedProvisionedConcurrentExecutions = status.Available,
        Status = status.Status,
        StatusReason = status.Reason,
        LastModified = AwsTime.Format(status.Config.LastModified),
    };
}
