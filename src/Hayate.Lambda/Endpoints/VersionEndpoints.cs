using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Lambda.Functions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Lambda.Endpoints;

// PublishVersion, ListVersionsByFunction and the alias operations.
public static partial class LambdaEndpoints
{
    private static void MapVersionsAndAliases(this IEndpointRouteBuilder app)
    {
        app.MapPost("/2015-03-31/functions/{FunctionName}/versions", Handle(PublishVersion));
        app.MapGet("/2015-03-31/functions/{FunctionName}/versions", Handle(ListVersionsByFunction));
        app.MapPost("/2015-03-31/functions/{FunctionName}/aliases", Handle(CreateAlias));
        app.MapGet("/2015-03-31/functions/{FunctionName}/aliases", Handle(ListAliases));
        app.MapGet("/2015-03-31/functions/{FunctionName}/aliases/{Name}", Handle(GetAlias));
        app.MapPut("/2015-03-31/functions/{FunctionName}/aliases/{Name}", Handle(UpdateAlias));
        app.MapDelete("/2015-03-31/functions/{FunctionName}/aliases/{Name}", Handle(DeleteAlias));
    }

    private static async Task<LambdaError?> PublishVersion(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var parsed = await ReadFunctionRequestAsync(context, 1024 * 1024, "PublishVersion", LambdaJson.Default.PublishVersionRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var (reference, r) = parsed.Value;

        if (r.Description is { Length: > Limits.MaxDescriptionLength })
        {
            return LambdaErrors.Validation("description", r.Description, $"Member must have length less than or equal to {Limits.MaxDescriptionLength}");
        }

        return await RespondAsync(context, manager, await manager.PublishVersionAsync(reference, r.CodeSha256, r.Description, r.RevisionId, context.RequestAborted), 201);
    }

    private static async Task<LambdaError?> ListVersionsByFunction(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var reference = ReferenceOf(context);
        var page = Page.Read(context);
        if (!reference.Ok || !page.Ok)
        {
            return reference.Ok ? page.Error : reference.Error;
        }

        var (maxItems, after) = page.Value;
        var versions = await manager.ListVersionsAsync(reference.Value, after, maxItems + 1, context.RequestAborted);
        if (!versions.Ok)
        {
            return versions.Error;
        }

        var list = versions.Value;
        var response = new ListVersionsByFunctionResponse
        {
            Versions = list.Take(maxItems).Select(f => Shapes.Configuration(manager, f, f.Version)).ToList(),
            NextMarker = list.Count > maxItems ? Page.Marker(list[maxItems - 1].Version) : null,
        };
        await ApiResponse.WriteJsonAsync(context, 200, response, LambdaJson.Default.ListVersionsByFunctionResponse);
        return null;
    }

    private static async Task<LambdaError?> CreateAlias(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var parsed = await ReadFunctionRequestAsync(context, 1024 * 1024, "CreateAlias", LambdaJson.Default.CreateAliasRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var (reference, r) = parsed.Value;

        var error = RequireMembers(("name", r.Name), ("functionVersion", r.FunctionVersion)) ?? AliasDescriptionError(r.Description);
        if (error is not null)
        {
            return error;
        }

        var settings = new AliasSettings { FunctionVersion = r.FunctionVersion, Description = r.Description, AdditionalVersionWeights = r.RoutingConfig?.AdditionalVersionWeights };
        return await RespondAliasAsync(context, manager, await manager.CreateAliasAsync(reference, r.Name!, settings, context.RequestAborted), 201);
    }

    private static async Task<LambdaError?> GetAlias(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var reference = ReferenceOf(context);
        return reference.Ok
            ? await RespondAliasAsync(context, manager, await manager.GetAliasAsync(reference.Value, AliasNameOf(context), context.RequestAborted))
            : reference.Error;
    }

    private static async Task<LambdaError?> UpdateAlias(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var parsed = await ReadFunctionRequestAsync(context, 1024 * 1024, "UpdateAlias", LambdaJson.Default.UpdateAliasRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var (reference, r) = parsed.Value;

        if (AliasDescriptionError(r.Description) is { } invalid)
        {
            return invalid;
        }

        var settings = new AliasSettings
        {
            FunctionVersion = r.FunctionVersion,
            Description = r.Description,
            // A RoutingConfig without weights clears the routing.
            AdditionalVersionWeights = r.RoutingConfig is null ? null : r.RoutingConfig.AdditionalVersionWeights ?? new Dictionary<string, double>(),
        };
        return await RespondAliasAsync(context, manager, await manager.UpdateAliasAsync(reference, AliasNameOf(context), settings, r.RevisionId, context.RequestAborted));
    }

    private static async Task<LambdaError?> DeleteAlias(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var reference = ReferenceOf(context);
        if (!reference.Ok)
        {
            return reference.Error;
        }

        var error = await manager.DeleteAliasAsync(reference.Value, AliasNameOf(context), context.RequestAborted);
        return NoContent(context, error);
    }

    private static async Task<LambdaError?> ListAliases(HttpContext context)
    {
        var manager = context.RequestServices.GetRequiredService<FunctionManager>();
        var reference = ReferenceOf(context);
        var page = Page.Read(context);
        if (!reference.Ok || !page.Ok)
        {
            return reference.Ok ? page.Error : reference.Error;
        }

        var (maxItems, after) = page.Value;
        var version = context.Request.Query.TryGetValue("FunctionVersion", out var v) && v.ToString().Length > 0 ? v.ToString() : null;
        var aliases = await manager.ListAliasesAsync(reference.Value, version, after, maxItems + 1, context.RequestAborted);
        if (!aliases.Ok)
        {
            return aliases.Error;
        }

        var list = aliases.Value;
        var response = new ListAliasesResponse
        {
            Aliases = list.Take(maxItems).Select(a => Shapes.Alias(manager, a)).ToList(),
            NextMarker = list.Count > maxItems ? Page.Marker(list[maxItems - 1].Name) : null,
        };
        await ApiResponse.WriteJsonAsync(context, 200, response, LambdaJson.Default.ListAliasesResponse);
        return null;
    }

    private static async Task<LambdaError?> RespondAliasAsync(HttpContext context, FunctionManager manager, Result<AliasConfiguration> alias, int status = 200)
    {
        if (!alias.Ok)
        {
            return alias.Error;
        }

        await ApiResponse.WriteJsonAsync(context, status, Shapes.Alias(manager, alias.Value), LambdaJson.Default.AliasConfigurationShape);
        return null;
    }

    private static string AliasNameOf(HttpContext context) => context.Request.RouteValues["Name"] as string ?? "";

    private static LambdaError? AliasDescriptionError(string? description) => description is { Length: > Limits.MaxDescriptionLength }
        ? LambdaErrors.Validation("description", description, $"Member must have length less than or equal to {Limits.MaxDescriptionLength}")
        : null;
}
