using System.Globalization;
using Hayate.Kernel.Errors;

namespace Hayate.Lambda.Functions;

/// <summary>What a caller may set on an alias; null means "not given" (on update: unchanged).</summary>
public sealed record AliasSettings
{
    public string? FunctionVersion { get; init; }
    public string? Description { get; init; }

    /// <summary>Null: not given. Empty: no routing.</summary>
    public IReadOnlyDictionary<string, double>? AdditionalVersionWeights { get; init; }
}

// Versions (immutable snapshots of $LATEST) and aliases (named, weighted pointers to versions).
public sealed partial class FunctionManager
{
    /// <summary>
    /// Snapshots $LATEST as the next version. An unchanged $LATEST gives back the newest version;
    /// <paramref name="codeSha256"/> and <paramref name="revisionId"/> must match $LATEST when given.
    /// </summary>
    public async Task<Result<FunctionConfiguration>> PublishVersionAsync(FunctionRef reference, string? codeSha256, string? description, string? revisionId, CancellationToken cancellationToken)
    {
        if (!IsOurs(reference) || reference.Qualifier is not (null or "$LATEST"))
        {
            return LambdaErrors.FunctionNotFound(FunctionArn.For(reference.Region ?? account.Region, reference.Account ?? account.AccountId, reference.Name, reference.Qualifier));
        }

        var name = reference.Name;
        var published = await store.PublishAsync(name, (latest, newest, next) =>
        {
            if (latest is null)
            {
                return LambdaErrors.FunctionNotFound(ArnOf(name));
            }

            if (codeSha256 is not null && codeSha256 != latest.CodeSha256)
            {
                return LambdaErrors.InvalidParameter($"CodeSHA256 ({codeSha256}) is different from current CodeSHA256 in $LATEST ({latest.CodeSha256}). Please try again with the CodeSHA256 in $LATEST.");
            }

            if (revisionId is not null && revisionId != latest.RevisionId)
            {
                return LambdaErrors.PreconditionFailed();
            }

            if (newest is not null && latest.SameDeployment(newest))
            {
                return newest;
            }

            return latest with
            {
                Version = next.ToString(CultureInfo.InvariantCulture),
                Description = description ?? latest.Description,
                SourceRevisionId = latest.RevisionId,
                RevisionId = Guid.NewGuid().ToString(),
                LastModified = time.GetUtcNow(),
            };
        }, cancellationToken);
        if (!published.Ok)
        {
            return published;
        }

        var version = await OpenAsync(published.Value, cancellationToken);
        if (version.EnvironmentError is null)
        {
            _versions[(name, version.Version)] = version;
        }

        return version;
    }

    /// <summary>$LATEST, then the published versions in order; a page starts after <paramref name="after"/>.</summary>
    public async Task<Result<IReadOnlyList<FunctionConfiguration>>> ListVersionsAsync(FunctionRef reference, string? after, int limit, CancellationToken cancellationToken)
    {
        var latest = await GetAsync(reference with { Qualifier = null }, cancellationToken);
        if (!latest.Ok)
        {
            return latest.Error;
        }

        var list = new List<FunctionConfiguration>();
        var afterVersion = 0;
        if (after is null)
        {
            list.Add(latest.Value);
        }
        else if (!int.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out afterVersion) && after != "$LATEST")
        {
            return LambdaErrors.InvalidParameter("Invalid Marker.");
        }

        list.AddRange(await OpenAllAsync(await store.ListVersionsAsync(reference.Name, afterVersion, limit - list.Count, cancellationToken), cancellationToken));
        return list;
    }

    public async Task<Result<AliasConfiguration>> CreateAliasAsync(FunctionRef reference, string name, AliasSettings settings, CancellationToken cancellationToken)
    {
        var function = await UnqualifiedFunctionAsync(reference, cancellationToken);
        if (!function.Ok)
        {
            return function.Error;
        }

        var version = settings.FunctionVersion!;
        var weights = settings.AdditionalVersionWeights;
        if ((AliasValidator.ValidateName(name) ?? AliasValidator.ValidateVersion(version) ?? AliasValidator.ValidateRouting(version, weights)) is { } invalid)
        {
            return invalid;
        }

        var alias = new AliasConfiguration
        {
            FunctionName = reference.Name,
            Name = name,
            FunctionVersion = version,
            Description = settings.Description ?? "",
            AdditionalVersion = weights?.Keys.FirstOrDefault(),
            AdditionalWeight = weights?.Values.FirstOrDefault() ?? 0,
            RevisionId = Guid.NewGuid().ToString(),
        };
        var write = await store.TryCreateAliasAsync(alias, cancellationToken);
        return write.Status switch
        {
            AliasWriteStatus.Done => Remember(alias),
            AliasWriteStatus.Conflict => LambdaErrors.Conflict($"Alias already exists: {ArnOf(reference.Name, name)}"),
            _ => LambdaErrors.FunctionNotFound(ArnOf(reference.Name, write.MissingVersion)),
        };
    }

    public async Task<Result<AliasConfiguration>> GetAliasAsync(FunctionRef reference, string name, CancellationToken cancellationToken)
    {
        var function = await UnqualifiedFunctionAsync(reference, cancellationToken);
        if (!function.Ok)
        {
            return function.Error;
        }

        var before = WritesSoFar();
        return await store.GetAliasAsync(reference.Name, name, cancellationToken) is { } alias
            ? RememberRead(alias, before)
            : AliasNotFound(reference.Name, name);
    }

    public async Task<Result<AliasConfiguration>> UpdateAliasAsync(FunctionRef reference, string name, AliasSettings settings, string? revisionId, CancellationToken cancellationToken)
    {
        var current = await GetAliasAsync(reference, name, cancellationToken);
        if (!current.Ok)
        {
            return current.Error;
        }

        var c = current.Value;
        if (revisionId is not null && revisionId != c.RevisionId)
        {
            return LambdaErrors.PreconditionFailed();
        }

        var version = settings.FunctionVersion ?? c.FunctionVersion;
        var weights = settings.AdditionalVersionWeights
            ?? (c.AdditionalVersion is null ? null : new Dictionary<string, double> { [c.AdditionalVersion] = c.AdditionalWeight });
        if ((AliasValidator.ValidateVersion(version) ?? AliasValidator.ValidateRouting(version, weights)) is { } invalid)
        {
            return invalid;
        }

        var updated = c with
        {
            FunctionVersion = version,
            Description = settings.Description ?? c.Description,
            AdditionalVersion = weights?.Keys.FirstOrDefault(),
            AdditionalWeight = weights?.Values.FirstOrDefault() ?? 0,
            RevisionId = Guid.NewGuid().ToString(),
        };
        var write = await store.TryUpdateAliasAsync(updated, c.RevisionId, cancellationToken);
        switch (write.Status)
        {
            case AliasWriteStatus.Done:
                return Remember(updated);
            case AliasWriteStatus.Conflict:
                Changing(() => _aliases.TryRemove((c.FunctionName, c.Name), out _));
                return LambdaErrors.Conflict($"The operation cannot be performed at this time. An update is in progress for resource: {ArnOf(c.FunctionName, c.Name)}");
            default:
                return LambdaErrors.FunctionNotFound(ArnOf(c.FunctionName, write.MissingVersion));
        }
    }

    public async Task<AwsError?> DeleteAliasAsync(FunctionRef reference, string name, CancellationToken cancellationToken)
    {
        var function = await UnqualifiedFunctionAsync(reference, cancellationToken);
        if (!function.Ok)
        {
            return function.Error;
        }

        // Deleting an alias that does not exist succeeds, as on Lambda.
        await store.DeleteAliasAsync(reference.Name, name, cancellationToken);
        Changing(() => _aliases.TryRemove((reference.Name, name), out _));
        await ForgetQualifierAsync(reference.Name, name, cancellationToken);
        return null;
    }

    public async Task<Result<IReadOnlyList<AliasConfiguration>>> ListAliasesAsync(FunctionRef reference, string? functionVersion, string? afterName, int limit, CancellationToken cancellationToken)
    {
        var function = await UnqualifiedFunctionAsync(reference, cancellationToken);
        if (!function.Ok)
        {
            return function.Error;
        }

        if (functionVersion is not null && AliasValidator.ValidateVersion(functionVersion) is { } invalid)
        {
            return invalid;
        }

        return Result.Of(await store.ListAliasesAsync(reference.Name, functionVersion, afterName, limit, cancellationToken));
    }

    public string AliasArnOf(AliasConfiguration alias) => ArnOf(alias.FunctionName, alias.Name);

    /// <summary>The alias as the invoke path sees it: from memory after the first read, refreshed on every write here.</summary>
    private async Task<AliasConfiguration?> AliasAsync(string function, string name, CancellationToken cancellationToken)
    {
        if (_aliases.TryGetValue((function, name), out var cached))
        {
            return cached;
        }

        var before = WritesSoFar();
        var alias = await store.GetAliasAsync(function, name, cancellationToken);
        return alias is null ? null : RememberRead(alias, before);
    }

    /// <summary>Caches what a read loaded, unless a write happened since the read began (see _writes).</summary>
    private AliasConfiguration RememberRead(AliasConfiguration alias, long before)
    {
        CacheUnlessChanged(_aliases, (alias.FunctionName, alias.Name), alias, before);
        return alias;
    }

    /// <summary>Caches what a write stored.</summary>
    private AliasConfiguration Remember(AliasConfiguration alias)
    {
        Changing(() =>
        {
            if (_aliases.Count > MaxCachedEntries)
            {
                _aliases.Clear();
            }

            _aliases[(alias.FunctionName, alias.Name)] = alias;
        });
        return alias;
    }

    /// <summary>Alias operations name the function without a qualifier.</summary>
    private async Task<Result<FunctionConfiguration>> UnqualifiedFunctionAsync(FunctionRef reference, CancellationToken cancellationToken) =>
        reference.Qualifier is null
            ? await GetAsync(reference, cancellationToken)
            : LambdaErrors.InvalidParameter("An alias operation takes the function's name or unqualified ARN, without a qualifier.");

    private AwsError AliasNotFound(string function, string name) => LambdaErrors.NotFound($"Cannot find alias arn: {ArnOf(function, name)}");
}
