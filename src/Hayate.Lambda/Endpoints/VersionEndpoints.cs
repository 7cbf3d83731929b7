using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Lambda.Functions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hayate.Lambda.Endpoints;

// PublishVersion, ListVersionsByFunction and the alias operations.
public static partial class LambdaEndpoints
{
    private static void MapVersionsAndAliases(RouteGroupBuilder function)
    {
        function.MapPost("/versions", PublishVersion);
        function.MapGet("/versions", ListVersionsByFunction);
        function.MapPost("/aliases", CreateAlias);
        function.MapGet("/aliases", ListAliases);
        function.MapGet("/aliases/{Name}", GetAlias);
        function.MapPut("/aliases/{Name}", UpdateAlias);
        function.MapDelete("/aliases/{Name}", DeleteAlias);
    }

    private static Task<IResult> PublishVersion(string functionName, HttpContext context, FunctionManager manager) =>
        ReadFunctionRequestAsync(functionName, context, MaxJsonRequest, "PublishVersion", LambdaJson.Default.PublishVersionRequest)
            .Check(r => DescriptionError(r.Request.Description))
            .ThenAsync(r => manager.PublishVersionAsync(r.Reference, r.Request.CodeSha256, r.Request.Description, r.Request.RevisionId, context.RequestAborted))
            .ToHttp(f => Configuration(manager, f, 201));

    private static async Task<IResult> ListVersionsByFunction(string functionName, HttpContext context, FunctionManager manager)
    {
        var reference = ReferenceOf(functionName, context);
        var page = Page.Read(context);
        if (!reference.Ok || !page.Ok)
        {
            return reference.Error ?? page.Error!;
        }

        var (maxItems, after) = page.Value;
        return await manager.ListVersionsAsync(reference.Value, after, maxItems + 1, context.RequestAborted).ToHttp(list => AwsJson.Ok(new ListVersionsByFunctionResponse
        {
            Versions = list.Take(maxItems).Select(f => Shapes.Configuration(manager, f, f.Version)).ToList(),
            NextMarker = list.Count > maxItems ? Page.Marker(list[maxItems - 1].Version) : null,
        }, LambdaJson.Default.ListVersionsByFunctionResponse));
    }

    private static Task<IResult> CreateAlias(string functionName, HttpContext context, FunctionManager manager) =>
        ReadFunctionRequestAsync(functionName, context, MaxJsonRequest, "CreateAlias", LambdaJson.Default.CreateAliasRequest)
            .Check(r => RequireMembers(("name", r.Request.Name), ("functionVersion", r.Request.FunctionVersion)) ?? DescriptionError(r.Request.Description))
            .ThenAsync(r => manager.CreateAliasAsync(r.Reference, r.Request.Name!, new AliasSettings
            {
                FunctionVersion = r.Request.FunctionVersion,
                Description = r.Request.Description,
                AdditionalVersionWeights = r.Request.RoutingConfig?.AdditionalVersionWeights,
            }, context.RequestAborted))
            .ToHttp(alias => Alias(manager, alias, 201));

    private static Task<IResult> GetAlias(string functionName, string name, HttpContext context, FunctionManager manager) =>
        ReferenceOf(functionName, context)
            .ThenAsync(reference => manager.GetAliasAsync(reference, name, context.RequestAborted))
            .ToHttp(alias => Alias(manager, alias));

    private static Task<IResult> UpdateAlias(string functionName, string name, HttpContext context, FunctionManager manager) =>
        ReadFunctionRequestAsync(functionName, context, MaxJsonRequest, "UpdateAlias", LambdaJson.Default.UpdateAliasRequest)
            .Check(r => DescriptionError(r.Request.Description))
            .ThenAsync(r => manager.UpdateAliasAsync(r.Reference, name, new AliasSettings
            {
                FunctionVersion = r.Request.FunctionVersion,
                Description = r.Request.Description,
                // A RoutingConfig without weights clears the routing.
                AdditionalVersionWeights = r.Request.RoutingConfig is null ? null : r.Request.RoutingConfig.AdditionalVersionWeights ?? new Dictionary<string, double>(),
            }, r.Request.RevisionId, context.RequestAborted))
            .ToHttp(alias => Alias(manager, alias));

    private static async Task<IResult> DeleteAlias(string functionName, string name, HttpContext context, FunctionManager manager)
    {
        var reference = ReferenceOf(functionName, context);
        return ResultAnswers.NoContentUnless(reference.Ok ? await manager.DeleteAliasAsync(reference.Value, name, context.RequestAborted) : reference.Error);
    }

    private static async Task<IResult> ListAliases(string functionName, HttpContext context, FunctionManager manager)
    {
        var reference = ReferenceOf(functionName, context);
        var page = Page.Read(context);
        if (!reference.Ok || !page.Ok)
        {
            return reference.Error ?? page.Error!;
        }

        var (maxItems, after) = page.Value;
        var version = context.Request.Query.TryGetValue("FunctionVersion", out var v) && v.ToString().Length > 0 ? v.ToString() : null;
        return await manager.ListAliasesAsync(reference.Value, version, after, maxItems + 1, context.RequestAborted).ToHttp(list => AwsJson.Ok(new ListAliasesResponse
        {
            Aliases = list.Take(maxItems).Select(a => Shapes.Alias(manager, a)).ToList(),
            NextMarker = list.Count > maxItems ? Page.Marker(list[maxItems - 1].Name) : null,
        }, LambdaJson.Default.ListAliasesResponse));
    }

    private static IResult Alias(FunctionManager manager, AliasConfiguration alias, int status = 200) =>
        AwsJson.Ok(Shapes.Alias(manager, alias), LambdaJson.Default.AliasConfigurationShape, status);
}
