using System.Text.Json.Nodes;
using Hayate.Kernel.Accounts;
using Hayate.Kernel.Errors;
using Hayate.Lambda.Code;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Policies;

namespace Hayate.Lambda.Layers;

/// <summary>What PublishLayerVersion asks for.</summary>
public sealed record LayerSettings
{
    public string Description { get; init; } = "";
    public IReadOnlyList<string> CompatibleRuntimes { get; init; } = [];
    public IReadOnlyList<string> CompatibleArchitectures { get; init; } = [];
    public string? LicenseInfo { get; init; }
}

/// <summary>
/// Layers: publishes versions (the zip goes to the content-addressed code store), lists, deletes,
/// keeps their permission policies, and resolves the layer ARNs a function names.
/// </summary>
public sealed class LayerManager(ILayerStore store, CodeStore code, AccountOptions account, TimeProvider time)
{
    public const int MaxLayersPerFunction = 5;

    public string ArnOf(string name) => LayerArn.For(account.Region, account.AccountId, name);

    public string ArnOf(LayerVersion layer) => LayerArn.For(account.Region, account.AccountId, layer.LayerName, layer.Version);

    public string ZipPath(LayerVersion layer) => code.ZipPath(layer.CodeSha256Hex);

    public async Task<Result<LayerVersion>> PublishAsync(string name, LayerSettings settings, byte[] zip, CancellationToken cancellationToken)
    {
        if (settings.CompatibleRuntimes.Count > 15)
        {
            return AwsErrors.Validation("compatibleRuntimes", string.Join(",", settings.CompatibleRuntimes), "Member must have length less than or equal to 15");
        }

        if (settings.CompatibleArchitectures.Count > 2 || settings.CompatibleArchitectures.Any(a => a is not ("x86_64" or "arm64")))
        {
            return AwsErrors.Validation("compatibleArchitectures", string.Join(",", settings.CompatibleArchitectures), "Member must have length less than or equal to 2, Member must satisfy enum value set: [x86_64, arm64]");
        }

        var stored = await code.PutAsync(zip, cancellationToken);
        if (!stored.Ok)
        {
            return stored.Error;
        }

        return await store.PublishAsync(new LayerVersion
        {
            LayerName = name,
            Version = 0,
            Description = settings.Description,
            CompatibleRuntimes = settings.CompatibleRuntimes,
            CompatibleArchitectures = settings.CompatibleArchitectures,
            LicenseInfo = settings.LicenseInfo,
            CodeSha256Hex = stored.Value.Sha256Hex,
            CodeSize = stored.Value.Size,
            CreatedDate = time.GetUtcNow(),
        }, cancellationToken);
    }

    public async Task<Result<LayerVersion>> GetAsync(string name, long version, CancellationToken cancellationToken)
    {
        if (version < 1)
        {
            return LambdaErrors.InvalidParameter("Layer Version Cannot be less than 1");
        }

        return await store.GetAsync(name, version, cancellationToken) is { } layer
            ? layer
            : LambdaErrors.NotFound("The resource you requested does not exist.");
    }

    public Task<IReadOnlyList<LayerVersion>> ListVersionsAsync(string name, long? beforeVersion, int limit, CancellationToken cancellationToken) =>
        store.ListVersionsAsync(name, beforeVersion, limit, cancellationToken);

    public Task<IReadOnlyList<LayerVersion>> ListLatestAsync(string? afterName, int limit, CancellationToken cancellationToken) =>
        store.ListLatestAsync(afterName, limit, cancellationToken);

    /// <summary>Idempotent, as on Lambda. Functions using the version keep its code.</summary>
    public Task DeleteAsync(string name, long version, CancellationToken cancellationToken) => store.DeleteAsync(name, version, cancellationToken);

    /// <summary>
    /// The layers a function names, checked as Lambda checks them: at most five, existing, in this
    /// region, one version per layer, and with the function's code at most 250 MB unzipped.
    /// </summary>
    public async Task<Result<IReadOnlyList<FunctionLayer>>> ResolveAsync(IReadOnlyList<string> arns, string functionCodeSha256Hex, CancellationToken cancellationToken)
    {
        if (arns.Count > MaxLayersPerFunction)
        {
            return LambdaErrors.InvalidParameter($"Cannot reference more than {MaxLayersPerFunction} layers.");
        }

        var layers = new List<FunctionLayer>();
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var arn in arns)
        {
            if (!LayerArn.TryParseVersionArn(arn, out var name, out var version, out var region, out var owner))
            {
                return AwsErrors.Validation("layers", arn, @"Member must satisfy regular expression pattern: arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+");
            }

            if (region != account.Region)
            {
                return LambdaErrors.InvalidParameter($"Layers are not in the same region as the function. Layers are expected to be in region {account.Region}.");
            }

            if (seen.TryGetValue(name, out var other))
            {
                return LambdaErrors.InvalidParameter($"Two different versions of the same layer are not allowed to be referenced in the same function. {other} and {arn} are versions of the same layer.");
            }

            var layer = owner == account.AccountId ? await store.GetAsync(name, version, cancellationToken) : null;
            if (layer is null)
            {
                return LambdaErrors.InvalidParameter($"Layer version {arn} does not exist.");
            }

            seen[name] = arn;
            layers.Add(new FunctionLayer(arn, layer.CodeSha256Hex, layer.CodeSize));
        }

        return (CheckSize(functionCodeSha256Hex, layers) ?? Prepare(layers)) is { } refused ? refused : layers;
    }

    /// <summary>Null when the function's code and its layers together stay within 250 MB unzipped.</summary>
    public AwsError? CheckSize(string functionCodeSha256Hex, IReadOnlyList<FunctionLayer> layers)
    {
        if (layers.Count == 0)
        {
            return null;
        }

        var total = code.UnpackedSize(functionCodeSha256Hex) + layers.Sum(l => code.UnpackedSize(l.CodeSha256Hex));
        return total > Limits.MaxUnzippedCodeSize
            ? LambdaErrors.InvalidParameter($"Function code combined with layers exceeds the maximum allowed size of {Limits.MaxUnzippedCodeSize} bytes. The actual size is {total} bytes.")
            : null;
    }

    /// <summary>Builds the merged /opt at deploy time, so that a set of layers that cannot be merged is refused there (400), not at invoke.</summary>
    public AwsError? Prepare(IReadOnlyList<FunctionLayer> layers)
    {
        if (layers.Count == 0)
        {
            return null;
        }

        try
        {
            code.MergedLayers(layers.Select(l => l.CodeSha256Hex).ToList());
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return LambdaErrors.InvalidParameter($"The layers could not be unpacked together under /opt: {ex.Message}");
        }
    }

    /// <summary>The merged /opt of a function's layers, or null without layers.</summary>
    public string? OptDirectory(FunctionConfiguration function) =>
        function.Layers.Count == 0 ? null : code.MergedLayers(function.Layers.Select(l => l.CodeSha256Hex).ToList());

    public async Task<Result<(string Statement, string RevisionId)>> AddPermissionAsync(
        string name, long version, string statementId, string action, string principal, string? organizationId, string? revisionId, CancellationToken cancellationToken)
    {
        if (LayerPermission.Validate(statementId, action, principal, organizationId) is { } invalid)
        {
            return invalid;
        }

        while (true)
        {
            var policy = await PolicyAsync(name, version, revisionId, cancellationToken);
            if (!policy.Ok)
            {
                return policy.Error;
            }

            var (statements, revision) = policy.Value;
            if (statements.Any(s => s?["Sid"]?.GetValue<string>() == statementId))
            {
                return LambdaErrors.Conflict($"The statement id ({statementId}) provided already exists. Please provide a new statement id, or remove the existing statement.");
            }

            var statement = LayerPermission.Build(statementId, principal, organizationId, LayerArn.For(account.Region, account.AccountId, name, version));
            statements.Add(statement.DeepClone());
            var next = Guid.NewGuid().ToString();
            if (await store.TryReplacePolicyAsync(name, version, revision, statements.ToJsonString(), next, cancellationToken))
            {
                return (statement.ToJsonString(), next);
            }
        }
    }

    public async Task<Result<(string Policy, string RevisionId)>> GetPolicyAsync(string name, long version, CancellationToken cancellationToken)
    {
        var policy = await PolicyAsync(name, version, null, cancellationToken);
        if (!policy.Ok)
        {
            return policy.Error;
        }

        return policy.Value.Statements.Count == 0
            ? LambdaErrors.NotFound("No policy is associated with the given resource.")
            : (PermissionStatement.Document(policy.Value.Statements), policy.Value.RevisionId);
    }

    public async Task<AwsError?> RemovePermissionAsync(string name, long version, string statementId, string? revisionId, CancellationToken cancellationToken)
    {
        while (true)
        {
            var policy = await PolicyAsync(name, version, revisionId, cancellationToken);
            if (!policy.Ok)
            {
                return policy.Error;
            }

            var (statements, revision) = policy.Value;
            var statement = statements.FirstOrDefault(s => s?["Sid"]?.GetValue<string>() == statementId);
            if (statement is null)
            {
                return LambdaErrors.NotFound($"Statement {statementId} is not found in resource policy.");
            }

            statements.Remove(statement);
            if (await store.TryReplacePolicyAsync(name, version, revision, statements.ToJsonString(), Guid.NewGuid().ToString(), cancellationToken))
            {
                return null;
            }
        }
    }

    private async Task<Result<(JsonArray Statements, string RevisionId)>> PolicyAsync(string name, long version, string? expectedRevision, CancellationToken cancellationToken)
    {
        var stored = await store.GetPolicyAsync(name, version, cancellationToken);
        if (stored is not { } policy)
        {
            return LambdaErrors.NotFound($"Layer version {LayerArn.For(account.Region, account.AccountId, name, version)} does not exist.");
        }

        if (expectedRevision is not null && expectedRevision != policy.RevisionId)
        {
            return LambdaErrors.PreconditionFailed("The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id");
        }

        return (JsonNode.Parse(policy.Statements)!.AsArray(), policy.RevisionId);
    }
}
