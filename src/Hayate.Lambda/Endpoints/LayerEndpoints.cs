using System.Globalization;
using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Kernel.Time;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Layers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hayate.Lambda.Endpoints;

// Layers: publish, get (by name and version or by ARN), list, delete, and layer permissions.
public static partial class LambdaEndpoints
{
    private const int MaxLayerListItems = 50;

    private static void MapLayers(RouteGroupBuilder api)
    {
        api.MapGet("/2018-10-31/layers", ListLayersOrFind);
        var layer = api.MapGroup("/2018-10-31/layers/{LayerName}/versions");
        layer.MapPost("", PublishLayerVersion);
        layer.MapGet("", ListLayerVersions);
        var version = layer.MapGroup("/{VersionNumber}");
        version.MapGet("", GetLayerVersion);
        version.MapDelete("", DeleteLayerVersion);
        version.MapPost("/policy", AddLayerVersionPermission);
        version.MapGet("/policy", GetLayerVersionPolicy);
        version.MapDelete("/policy/{StatementId}", RemoveLayerVersionPermission);
    }

    private static async Task<IResult> PublishLayerVersion(string layerName, HttpContext context, LayerManager layers)
    {
        var name = LayerNameOf(layerName);
        if (!name.Ok)
        {
            return name.Error;
        }

        return await ApiRequest.ReadJsonAsync(context, Limits.MaxCodeRequestSize, "PublishLayerVersion", LambdaJson.Default.PublishLayerVersionRequest)
            .Check(r => RequireMembers(("content", r.Content))
                ?? CodeSourceError(r.Content!.ZipFile, r.Content.S3Bucket, null, "Content.ZipFile")
                ?? (r.Description is { Length: > Limits.MaxDescriptionLength } ? AwsErrors.Validation("description", r.Description, "Member must have length less than or equal to 256") : null)
                ?? (r.LicenseInfo is { Length: > 512 } ? AwsErrors.Validation("licenseInfo", r.LicenseInfo, "Member must have length less than or equal to 512") : null))
            .ThenAsync(r => layers.PublishAsync(name.Value, new LayerSettings
            {
                Description = r.Description ?? "",
                CompatibleRuntimes = r.CompatibleRuntimes ?? [],
                CompatibleArchitectures = r.CompatibleArchitectures ?? [],
                LicenseInfo = r.LicenseInfo,
            }, r.Content!.ZipFile!, context.RequestAborted))
            .ToHttp(l => Layer(context, layers, l, 201));
    }

    private static Task<IResult> GetLayerVersion(string layerName, string versionNumber, HttpContext context, LayerManager layers) =>
        LayerVersionOf(layerName, versionNumber)
            .ThenAsync(target => layers.GetAsync(target.Name, target.Version, context.RequestAborted))
            .ToHttp(l => Layer(context, layers, l));

    /// <summary>GET /layers is ListLayers, or GetLayerVersionByArn with ?find=LayerVersion&amp;Arn=.</summary>
    private static async Task<IResult> ListLayersOrFind(HttpContext context, LayerManager layers)
    {
        var query = context.Request.Query;
        if (query["find"].ToString() == "LayerVersion")
        {
            var arn = query["Arn"].ToString();
            if (!LayerArn.TryParseVersionArn(arn, out var layerName, out var version, out _, out _))
            {
                return AwsErrors.Validation("arn", arn, @"Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+");
            }

            return await layers.GetAsync(layerName, version, context.RequestAborted).ToHttp(l => Layer(context, layers, l));
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
        return AwsJson.Ok(response, LambdaJson.Default.ListLayersResponse);
    }

    private static async Task<IResult> ListLayerVersions(string layerName, HttpContext context, LayerManager layers)
    {
        var name = LayerNameOf(layerName);
        var page = Page.Read(context, MaxLayerListItems);
        if (!name.Ok || !page.Ok)
        {
            return name.Error ?? page.Error!;
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
        return AwsJson.Ok(response, LambdaJson.Default.ListLayerVersionsResponse);
    }

    private static async Task<IResult> DeleteLayerVersion(string layerName, string versionNumber, HttpContext context, LayerManager layers)
    {
        var target = LayerVersionOf(layerName, versionNumber);
        if (!target.Ok)
        {
            return target.Error;
        }

        await layers.DeleteAsync(target.Value.Name, target.Value.Version, context.RequestAborted);
        return Results.NoContent();
    }

    private static async Task<IResult> AddLayerVersionPermission(string layerName, string versionNumber, HttpContext context, LayerManager layers)
    {
        var target = LayerVersionOf(layerName, versionNumber);
        if (!target.Ok)
        {
            return target.Error;
        }

        var (name, version) = target.Value;
        return await ApiRequest.ReadJsonAsync(context, MaxSmallRequest, "AddLayerVersionPermission", LambdaJson.Default.AddLayerVersionPermissionRequest)
            .Check(r => RequireMembers(("statementId", r.StatementId), ("action", r.Action), ("principal", r.Principal)))
            .ThenAsync(r => layers.AddPermissionAsync(name, version, r.StatementId!, r.Action!, r.Principal!, r.OrganizationId, RevisionIdOf(context), context.RequestAborted))
            .ToHttp(added => AwsJson.Ok(new LayerPolicyResponse { Statement = added.Statement, RevisionId = added.RevisionId }, LambdaJson.Default.LayerPolicyResponse, 201));
    }

    private static Task<IResult> GetLayerVersionPolicy(string layerName, string versionNumber, HttpContext context, LayerManager layers) =>
        LayerVersionOf(layerName, versionNumber)
            .ThenAsync(target => layers.GetPolicyAsync(target.Name, target.Version, context.RequestAborted))
            .ToHttp(policy => AwsJson.Ok(new LayerPolicyResponse { Policy = policy.Policy, RevisionId = policy.RevisionId }, LambdaJson.Default.LayerPolicyResponse));

    private static async Task<IResult> RemoveLayerVersionPermission(string layerName, string versionNumber, string statementId, HttpContext context, LayerManager layers)
    {
        var target = LayerVersionOf(layerName, versionNumber);
        return ResultAnswers.NoContentUnless(target.Ok
            ? await layers.RemovePermissionAsync(target.Value.Name, target.Value.Version, statementId, RevisionIdOf(context), context.RequestAborted)
            : target.Error);
    }

    private static IResult Layer(HttpContext context, LayerManager layers, LayerVersion l, int status = 200)
    {
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
        return AwsJson.Ok(response, LambdaJson.Default.LayerVersionResponse, status);
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

    private static Result<string> LayerNameOf(string raw) =>
        LayerArn.TryParseName(raw, out var name, out _, out _)
            ? name
            : AwsErrors.Validation("layerName", raw, @"Member must satisfy regular expression pattern: (arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+");

    private static Result<(string Name, long Version)> LayerVersionOf(string layerName, string versionNumber) =>
        LayerNameOf(layerName).Then<(string, long)>(name =>
            long.TryParse(versionNumber, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var version)
                ? (name, version)
                : AwsErrors.Validation("versionNumber", versionNumber, "Member must be a number"));
}
