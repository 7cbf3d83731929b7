using System.Globalization;
using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Kernel.Time;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Layers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Lambda.Endpoints;

// Layers: publish, get (by name and version or by ARN), list, delete, and layer permissions.
public static partial class LambdaEndpoints
{
    private const int MaxLayerListItems = 50;

    private static void MapLayers(this IEndpointRouteBuilder app)
    {
        app.MapPost("/2018-10-31/layers/{LayerName}/versions", Handle(PublishLayerVersion));
        app.MapGet("/2018-10-31/layers/{LayerName}/versions", Handle(ListLayerVersions));
        app.MapGet("/2018-10-31/layers", Handle(ListLayersOrFind));
        app.MapGet("/2018-10-31/layers/{LayerName}/versions/{VersionNumber}", Handle(GetLayerVersion));
        app.MapDelete("/2018-10-31/layers/{LayerName}/versions/{VersionNumber}", Handle(DeleteLayerVersion));
        app.MapPost("/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy", Handle(AddLayerVersionPermission));
        app.MapGet("/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy", Handle(GetLayerVersionPolicy));
        app.MapDelete("/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy/{StatementId}", Handle(RemoveLayerVersionPermission));
    }

    private static async Task<LambdaError?> PublishLayerVersion(HttpContext context)
    {
        var layers = context.RequestServices.GetRequiredService<LayerManager>();
        var name = LayerNameOf(context);
        if (!name.Ok)
        {
            return name.Error;
        }

        var parsed = await ReadJsonAsync(context, Limits.MaxCodeRequestSize, "PublishLayerVersion", LambdaJson.Default.PublishLayerVersionRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var r = parsed.Value;
        var error = RequireMembers(("content", r.Content))
            ?? CodeSourceError(r.Content!.ZipFile, r.Content.S3Bucket, null, "Content.ZipFile")
            ?? (r.Description is { Length: > Limits.MaxDescriptionLength } ? LambdaErrors.Validation("description", r.Description, "Member must have length less than or equal to 256") : null)
            ?? (r.LicenseInfo is { Length: > 512 } ? LambdaErrors.Validation("licenseInfo", r.LicenseInfo, "Member must have length less than or equal to 512") : null);
        if (error is not null)
        {
            return error;
        }

        var settings = new LayerSettings
        {
            Description = r.Description ?? "",
            CompatibleRuntimes = r.CompatibleRuntimes ?? [],
            CompatibleArchitectures = r.CompatibleArchitectures ?? [],
            LicenseInfo = r.LicenseInfo,
        };
        var published = await layers.PublishAsync(name.Value, settings, r.Content!.ZipFile!, context.RequestAborted);
        return await RespondLayerAsync(context, layers, published, 201);
    }

    private static async Task<LambdaError?> GetLayerVersion(HttpContext context)
    {
        var layers = context.RequestServices.GetRequiredService<LayerManager>();
        var target = LayerVersionOf(context);
        return target.Ok
            ? await RespondLayerAsync(context, layers, await layers.GetAsync(target.Value.Name, target.Value.Version, context.RequestAborted))
            : target.Error;
    }

    /// <summary>GET /layers is ListLayers, or GetLayerVersionByArn with ?find=LayerVersion&amp;Arn=.</summary>
    private static async Task<LambdaError?> ListLayersOrFind(HttpContext context)
    {
        var layers = context.RequestServices.GetRequiredService<LayerManager>();
        var query = context.Request.Query;
        if (query["find"].ToString() == "LayerVersion")
        {
            var arn = query["Arn"].ToString();
            if (!LayerArn.TryParseVersionArn(arn, out var layerName, out var version, out _, out _))
            {
                return LambdaErrors.Validation("arn", arn, @"Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+");
            }

            return await RespondLayerAsync(context, layers, await layers.GetAsync(layerName, version, context.RequestAborted));
        }

        var page = Page.Read(context, MaxLayerListItems);
        if (!page.Ok)
        {
            return page.Error;
        }

        var (maxItems, after) = page.Value;
        var runtime = query["CompatibleRuntime"].ToString();
        var architecture = query["CompatibleArchitecture"].ToString();
        var latest = (await layers.ListLatestAsync(after, MaxListItems, context.RequestAborted)).Where(l => Matches(l, runtime, architecture)).ToList();
        var response = new ListLayersResponse
        {
            Layers = latest.Take(maxItems).Select(l => new LayersListItem { LayerName = l.LayerName, LayerArn = layers.ArnOf(l.LayerName), LatestMatchingVersion = ListItem(layers, l) }).ToList(),
            NextMarker = latest.Count > maxItems ? Page.Marker(latest[maxItems - 1].LayerName) : null,
        };
        await ApiResponse.WriteJsonAsync(context, 200, response, LambdaJson.Default.ListLayersResponse);
        return null;
    }

    private static async Task<LambdaError?> ListLayerVersions(HttpContext context)
    {
        var layers = context.RequestServices.GetRequiredService<LayerManager>();
        var name = LayerNameOf(context);
        var page = Page.Read(context, MaxLayerListItems);
        if (!name.Ok || !page.Ok)
        {
            return name.Ok ? page.Error : name.Error;
        }

        var (maxItems, after) = page.Value;
        long? before = after is null ? null : long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var b) ? b : 0;
        var query = context.Request.Query;
        var versions = (await layers.ListVersionsAsync(name.Value, before, MaxListItems, context.RequestAborted))
            .Where(l => Matches(l, query["CompatibleRuntime"].ToString(), query["CompatibleArchitecture"].ToString())).ToList();
        var response = new ListLayerVersionsResponse
        {
            LayerVersions = versions.Take(maxItems).Select(l => ListItem(layers, l)).ToList(),
            NextMarker = versions.Count > maxItems ? Page.Marker(versions[maxItems - 1].Version.ToString(CultureInfo.InvariantCulture)) : null,
        };
        await ApiResponse.WriteJsonAsync(context, 200, response, LambdaJson.Default.ListLayerVersionsResponse);
        return null;
    }

    private static async Task<LambdaError?> DeleteLayerVersion(HttpContext context)
    {
        var layers = context.RequestServices.GetRequiredService<LayerManager>();
        var target = LayerVersionOf(context);
        if (!target.Ok)
        {
            return target.Error;
        }

        await layers.DeleteAsync(target.Value.Name, target.Value.Version, context.RequestAborted);
        context.Response.StatusCode = 204;
        return null;
    }

    private static async Task<LambdaError?> AddLayerVersionPermission(HttpContext context)
    {
        var layers = context.RequestServices.GetRequiredService<LayerManager>();
        var target = LayerVersionOf(context);
        if (!target.Ok)
        {
            return target.Error;
        }

        var parsed = await ReadJsonAsync(context, 64 * 1024, "AddLayerVersionPermission", LambdaJson.Default.AddLayerVersionPermissionRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var r = parsed.Value;
        if (RequireMembers(("statementId", r.StatementId), ("action", r.Action), ("principal", r.Principal)) is { } missing)
        {
            return missing;
        }

        var revision = context.Request.Query.TryGetValue("RevisionId", out var rev) ? rev.ToString() : null;
        var added = await layers.AddPermissionAsync(target.Value.Name, target.Value.Version, r.StatementId!, r.Action!, r.Principal!, r.OrganizationId, revision, context.RequestAborted);
        if (!added.Ok)
        {
            return added.Error;
        }

        await ApiResponse.WriteJsonAsync(context, 201, new LayerPolicyResponse { Statement = added.Value.Statement, RevisionId = added.Value.RevisionId }, LambdaJson.Default.LayerPolicyResponse);
        return null;
    }

    private static async Task<LambdaError?> GetLayerVersionPolicy(HttpContext context)
    {
        var layers = context.RequestServices.GetRequiredService<LayerManager>();
        var target = LayerVersionOf(context);
        var policy = target.Ok ? await layers.GetPolicyAsync(target.Value.Name, target.Value.Version, context.RequestAborted) : target.Error;
        if (!policy.Ok)
        {
            return policy.Error;
        }

        await ApiResponse.WriteJsonAsync(context, 200, new LayerPolicyResponse { Policy = policy.Value.Policy, RevisionId = policy.Value.RevisionId }, LambdaJson.Default.LayerPolicyResponse);
        return null;
    }

    private static async Task<LambdaError?> RemoveLayerVersionPermission(HttpContext context)
    {
        var layers = context.RequestServices.GetRequiredService<LayerManager>();
        var target = LayerVersionOf(context);
        if (!target.Ok)
        {
            return target.Error;
        }

        var revision = context.Request.Query.TryGetValue("RevisionId", out var rev) ? rev.ToString() : null;
        var statementId = context.Request.RouteValues["StatementId"] as string ?? "";
        var error = await layers.RemovePermissionAsync(target.Value.Name, target.Value.Version, statementId, revision, context.RequestAborted);
        return NoContent(context, error);
    }

    private static async Task<LambdaError?> RespondLayerAsync(HttpContext context, LayerManager layers, Result<LayerVersion> layer, int status = 200)
    {
        if (!layer.Ok)
        {
            return layer.Error;
        }

        var l = layer.Value;
        var request = context.Request;
        var response = new LayerVersionResponse
        {
            Content = new LayerContentShape
            {
                Location = $"{request.Scheme}://{request.Host}/_hayate/code/{l.CodeSha256Hex}.zip",
                CodeSha256 = Convert.ToBase64String(Convert.FromHexString(l.CodeSha256Hex)),
                CodeSize = l.CodeSize,
            },
            LayerArn = layers.ArnOf(l.LayerName),
            LayerVersionArn = layers.ArnOf(l),
            Description = l.Description,
            CreatedDate = AwsTime.Format(l.CreatedDate),
            Version = l.Version,
            CompatibleRuntimes = l.CompatibleRuntimes.Count == 0 ? null : [.. l.CompatibleRuntimes],
            CompatibleArchitectures = l.CompatibleArchitectures.Count == 0 ? null : [.. l.CompatibleArchitectures],
            LicenseInfo = l.LicenseInfo,
        };
        await ApiResponse.WriteJsonAsync(context, status, response, LambdaJson.Default.LayerVersionResponse);
        return null;
    }

    private static LayerVersionsListItem ListItem(LayerManager layers, LayerVersion l) => new()
    {
        LayerVersionArn = layers.ArnOf(l),
        Version = l.Version,
        Description = l.Description,
        CreatedDate = AwsTime.Format(l.CreatedDate),
        CompatibleRuntimes = l.CompatibleRuntimes.Count == 0 ? null : [.. l.CompatibleRuntimes],
        CompatibleArchitectures = l.CompatibleArchitectures.Count == 0 ? null : [.. l.CompatibleArchitectures],
        LicenseInfo = l.LicenseInfo,
    };

    private static bool Matches(LayerVersion layer, string runtime, string architecture) =>
        (runtime.Length == 0 || layer.CompatibleRuntimes.Contains(runtime)) &&
        (architecture.Length == 0 || layer.CompatibleArchitectures.Contains(architecture));

    private static Result<string> LayerNameOf(HttpContext context)
    {
        var raw = context.Request.RouteValues["LayerName"] as string ?? "";
        return LayerArn.TryParseName(raw, out var name, out _, out _)
            ? name
            : LambdaErrors.Validation("layerName", raw, @"Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+");
    }

    private static Result<(string Name, long Version)> LayerVersionOf(HttpContext context)
    {
        var name = LayerNameOf(context);
        if (!name.Ok)
        {
            return name.Error;
        }

        var raw = context.Request.RouteValues["VersionNumber"] as string ?? "";
        return long.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var version)
            ? (name.Value, version)
            : LambdaErrors.Validation("versionNumber", raw, "Member must be a number");
    }
}
