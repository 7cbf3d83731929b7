using System.Collections.Concurrent;
using System.Globalization;
using Hayate.Kernel.Accounts;
using Hayate.Kernel.Errors;
using Hayate.Lambda.Code;
using Hayate.Lambda.Layers;
using Hayate.Sandboxes.Pooling;

namespace Hayate.Lambda.Functions;

/// <summary>
/// The control plane of functions: validates, stores code and configuration, keeps a read cache
/// for the invoke path, and retires warm sandboxes when a function changes.
/// </summary>
public sealed partial class FunctionManager(IFunctionStore store, CodeStore code, LayerManager layers, EnvironmentCipher environments, ISandboxHost sandboxes, AccountOptions account, TimeProvider time)
{
    private const int MaxCachedEntries = 10_000;
    private readonly ConcurrentDictionary<string, FunctionConfiguration> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Function, string Version), FunctionConfiguration> _versions = new();
    private readonly ConcurrentDictionary<(string Function, string Alias), AliasConfiguration> _aliases = new();

    // Counts writes that change what the caches hold. A reader caches what it loaded only if no
    // write happened meanwhile: otherwise a read racing an update or delete could put the old
    // (or deleted) function, version or alias back into the cache after the writer cleared it.
    // The count and every cache change happen under _cacheGate, so a reader's check and its
    // insert are one step that no write can fall between. Warm reads take no lock.
    private readonly Lock _cacheGate = new();
    private long _writes;

    public AccountOptions Account => account;

    /// <summary>Raised after a function (with all its versions) is deleted.</summary>
    public event Action<string>? FunctionDeleted;

    /// <summary>Raised after a version or alias is deleted (function name, qualifier).</summary>
    public event Action<string, string>? QualifierDeleted;

    public string ArnOf(string name, string? qualifier = null) => FunctionArn.For(account.Region, account.AccountId, name, qualifier);

    public async Task<Result<FunctionConfiguration>> CreateAsync(string name, FunctionSettings settings, byte[] zip, IReadOnlyDictionary<string, string>? tags, CancellationToken cancellationToken)
    {
        tags ??= new Dictionary<string, string>();
        if ((FunctionValidator.Validate(settings, creating: true) ?? FunctionValidator.ValidateTags(tags)) is { } invalid)
        {
            return invalid;
        }

        if (await store.GetAsync(name, cancellationToken) is not null)
        {
            return LambdaErrors.Conflict($"Function already exist: {name}");
        }

        var stored = await code.PutAsync(zip, cancellationToken);
        if (!stored.Ok)
        {
            return stored.Error;
        }

        IReadOnlyList<FunctionLayer> functionLayers = [];
        if (settings.Layers is { } arns)
        {
            var resolved = await layers.ResolveAsync(arns, stored.Value.Sha256Hex, cancellationToken);
            if (!resolved.Ok)
            {
                return resolved.Error;
            }

            functionLayers = resolved.Value;
        }

        var kmsKeyArn = settings.KmsKeyArn is { Length: > 0 } k ? k : null;
        var environment = settings.Environment ?? new Dictionary<string, string>();
        var sealedEnvironment = await environments.SealAsync(name, environment, kmsKeyArn, cancellationToken);
        if (!sealedEnvironment.Ok)
        {
            return sealedEnvironment.Error;
        }

        var function = new FunctionConfiguration
        {
            Layers = functionLayers,
            Sealed = sealedEnvironment.Value,
            KmsKeyArn = kmsKeyArn,
            DeadLetterTargetArn = settings.DeadLetterTargetArn is { Length: > 0 } deadLetter ? deadLetter : null,
            Name = name,
            Runtime = settings.Runtime!,
            Handler = settings.Handler!,
            Role = settings.Role!,
            Description = settings.Description ?? "",
            MemorySize = settings.MemorySize ?? Limits.DefaultMemorySize,
            Timeout = settings.Timeout ?? Limits.DefaultTimeout,
            EphemeralStorageSize = settings.EphemeralStorageSize ?? Limits.MinEphemeralStorage,
            Environment = environment,
            CodeSha256Hex = stored.Value.Sha256Hex,
            CodeSize = stored.Value.Size,
            RevisionId = Guid.NewGuid().ToString(),
            LastModified = time.GetUtcNow(),
        };
        if (!await store.TryCreateAsync(function, tags, cancellationToken))
        {
            return LambdaErrors.Conflict($"Function already exist: {name}");
        }

        Changing(() => _cache[name] = function);
        return function;
    }

    /// <summary>
    /// The configuration a reference names: $LATEST without a qualifier, a published version, or the
    /// version an alias points to (its primary version; invocations route with <see cref="ResolveForInvokeAsync"/>).
    /// </summary>
    public async Task<Result<FunctionConfiguration>> GetAsync(FunctionRef reference, CancellationToken cancellationToken)
    {
        if (!IsOurs(reference))
        {
            return LambdaErrors.FunctionNotFound(FunctionArn.For(reference.Region ?? account.Region, reference.Account ?? account.AccountId, reference.Name, reference.Qualifier));
        }

        return reference.Qualifier switch
        {
            null or "$LATEST" => await LatestAsync(reference.Name, reference.Qualifier, cancellationToken),
            var q when AliasValidator.IsVersionNumber(q) => await VersionAsync(reference.Name, q, cancellationToken),
            var alias => await ThroughAliasAsync(reference.Name, alias, draw: null, cancellationToken),
        };
    }

    /// <summary>
    /// What one invocation runs: like <see cref="GetAsync"/>, except that an alias with routing picks
    /// its primary or additional version by weight, afresh for every call.
    /// </summary>
    public ValueTask<Result<FunctionConfiguration>> ResolveForInvokeAsync(FunctionRef reference, CancellationToken cancellationToken)
    {
        // The warm path: everything in memory, no awaits and no allocations.
        if (IsOurs(reference) && TryResolveCached(reference, out var cached))
        {
            return ValueTask.FromResult(Result.Of(cached));
        }

        return new ValueTask<Result<FunctionConfiguration>>(
            reference.Qualifier is null or "$LATEST" || AliasValidator.IsVersionNumber(reference.Qualifier) || !IsOurs(reference)
                ? GetAsync(reference, cancellationToken)
                : ThroughAliasAsync(reference.Name, reference.Qualifier, Random.Shared.NextDouble(), cancellationToken));
    }

    private bool TryResolveCached(FunctionRef reference, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out FunctionConfiguration? function)
    {
        var qualifier = reference.Qualifier;
        if (qualifier is not null and not "$LATEST" && !AliasValidator.IsVersionNumber(qualifier))
        {
            if (!_aliases.TryGetValue((reference.Name, qualifier), out var alias))
            {
                function = null;
                return false;
            }

            qualifier = alias.Route(Random.Shared.NextDouble());
        }

        return qualifier is null or "$LATEST"
            ? _cache.TryGetValue(reference.Name, out function)
            : _versions.TryGetValue((reference.Name, qualifier), out function);
    }

    private async Task<Result<FunctionConfiguration>> LatestAsync(string name, string? qualifier, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue(name, out var cached))
        {
            return cached;
        }

        var before = WritesSoFar();
        var stored = await store.GetAsync(name, cancellationToken);
        if (stored is null)
        {
            return LambdaErrors.FunctionNotFound(ArnOf(name, qualifier));
        }

        var function = await OpenAsync(stored, cancellationToken);
        if (function.EnvironmentError is null)
        {
            CacheUnlessChanged(_cache, name, function, before);
        }

        return function;
    }

    private async Task<Result<FunctionConfiguration>> VersionAsync(string name, string version, CancellationToken cancellationToken)
    {
        if (version == "$LATEST")
        {
            return await LatestAsync(name, version, cancellationToken);
        }

        // Versions are immutable: once read, a version is served from memory until it is deleted.
        var key = (name, version);
        if (_versions.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var before = WritesSoFar();
        var stored = int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? await store.GetVersionAsync(name, number, cancellationToken)
            : null;
        if (stored is null)
        {
            return LambdaErrors.FunctionNotFound(ArnOf(name, version));
        }

        var function = await OpenAsync(stored, cancellationToken);
        if (function.EnvironmentError is not null)
        {
            return function;
        }

        CacheUnlessChanged(_versions, key, function, before);
        return function;
    }

    private async Task<Result<FunctionConfiguration>> ThroughAliasAsync(string name, string aliasName, double? draw, CancellationToken cancellationToken)
    {
        var alias = await AliasAsync(name, aliasName, cancellationToken);
        if (alias is null)
        {
            return LambdaErrors.FunctionNotFound(ArnOf(name, aliasName));
        }

        return await VersionAsync(name, draw is { } d ? alias.Route(d) : alias.FunctionVersion, cancellationToken);
    }

    public async Task<IReadOnlyList<FunctionConfiguration>> ListAsync(string? afterName, int limit, CancellationToken cancellationToken) =>
        await OpenAllAsync(await store.ListAsync(afterName, limit, cancellationToken), cancellationToken);

    /// <summary>A stored configuration with its environment decrypted (or the KMS error that prevented it).</summary>
    private async Task<FunctionConfiguration> OpenAsync(FunctionConfiguration stored, CancellationToken cancellationToken)
    {
        if (stored.Sealed is null)
        {
            return stored;
        }

        var opened = await environments.OpenAsync(stored.Name, stored.Sealed, cancellationToken);
        return opened.Ok ? stored with { Environment = opened.Value } : stored with { EnvironmentError = opened.Error };
    }

    private async Task<IReadOnlyList<FunctionConfiguration>> OpenAllAsync(IReadOnlyList<FunctionConfiguration> stored, CancellationToken cancellationToken)
    {
        var opened = new List<FunctionConfiguration>(stored.Count);
        foreach (var function in stored)
        {
            opened.Add(await OpenAsync(function, cancellationToken));
        }

        return opened;
    }

    /// <summary>
    /// Before an invocation: the environment must still be decryptable, so that disabling or
    /// scheduling the deletion of its KMS key takes effect at once, also for warm sandboxes.
    /// </summary>
    public async Task<AwsError?> CheckEnvironmentAsync(FunctionConfiguration function, CancellationToken cancellationToken) =>
        function.EnvironmentError ?? (function.Sealed is null ? null : await environments.CheckAsync(function.Name, function.Sealed, cancellationToken));

    public async Task<Result<FunctionConfiguration>> UpdateCodeAsync(FunctionRef reference, byte[] zip, string? revisionId, bool dryRun, CancellationToken cancellationToken)
    {
        var current = await GetLatestForUpdateAsync(reference, cancellationToken);
        if (!current.Ok)
        {
            return current.Error;
        }

        if (revisionId is not null && revisionId != current.Value.RevisionId)
        {
            return LambdaErrors.PreconditionFailed();
        }

        var stored = await code.PutAsync(zip, cancellationToken);
        if (!stored.Ok)
        {
            return stored.Error;
        }

        if (layers.CheckSize(stored.Value.Sha256Hex, current.Value.Layers) is { } tooLarge)
        {
            return tooLarge;
        }

        var updated = current.Value with
        {
            CodeSha256Hex = stored.Value.Sha256Hex,
            CodeSize = stored.Value.Size,
            RevisionId = Guid.NewGuid().ToString(),
            LastModified = time.GetUtcNow(),
        };
        return dryRun ? updated with { RevisionId = current.Value.RevisionId } : await ReplaceAsync(current.Value, updated, cancellationToken);
    }

    public async Task<Result<FunctionConfiguration>> UpdateConfigurationAsync(FunctionRef reference, FunctionSettings settings, string? revisionId, CancellationToken cancellationToken)
    {
        if (FunctionValidator.Validate(settings, creating: false) is { } invalid)
        {
            return invalid;
        }

        var current = await GetLatestForUpdateAsync(reference, cancellationToken);
        if (!current.Ok)
        {
            return current.Error;
        }

        if (revisionId is not null && revisionId != current.Value.RevisionId)
        {
            return LambdaErrors.PreconditionFailed();
        }

        var c = current.Value;
        var functionLayers = c.Layers;
        if (settings.Layers is { } arns)
        {
            var resolved = await layers.ResolveAsync(arns, c.CodeSha256Hex, cancellationToken);
            if (!resolved.Ok)
            {
                return resolved.Error;
            }

            functionLayers = resolved.Value;
        }

        var environment = settings.Environment ?? c.Environment;
        var kmsKeyArn = settings.KmsKeyArn is null ? c.KmsKeyArn : settings.KmsKeyArn.Length > 0 ? settings.KmsKeyArn : null;
        var sealedEnvironment = c.Sealed;
        if (settings.Environment is null && c.EnvironmentError is not null && kmsKeyArn != c.KmsKeyArn)
        {
            // The variables cannot be read, so they cannot be sealed under another key: refuse
            // rather than store an empty environment in their place.
            return c.EnvironmentError;
        }

        if (settings.Environment is not null || kmsKeyArn != c.KmsKeyArn)
        {
            var resealed = await environments.SealAsync(c.Name, environment, kmsKeyArn, cancellationToken);
            if (!resealed.Ok)
            {
                return resealed.Error;
            }

            sealedEnvironment = resealed.Value;
        }

        var updated = c with
        {
            Layers = functionLayers,
            Sealed = sealedEnvironment,
            KmsKeyArn = kmsKeyArn,
            DeadLetterTargetArn = settings.DeadLetterTargetArn is null ? c.DeadLetterTargetArn : settings.DeadLetterTargetArn.Length > 0 ? settings.DeadLetterTargetArn : null,
            // Unchanged and unreadable, the sealed variables stay as they are (and so does the error).
            EnvironmentError = ReferenceEquals(sealedEnvironment, c.Sealed) ? c.EnvironmentError : null,
            Runtime = settings.Runtime ?? c.Runtime,
            Handler = settings.Handler ?? c.Handler,
            Role = settings.Role ?? c.Role,
            Description = settings.Description ?? c.Description,
            MemorySize = settings.MemorySize ?? c.MemorySize,
            Timeout = settings.Timeout ?? c.Timeout,
            EphemeralStorageSize = settings.EphemeralStorageSize ?? c.EphemeralStorageSize,
            Environment = environment,
            RevisionId = Guid.NewGuid().ToString(),
            LastModified = time.GetUtcNow(),
        };
        return await ReplaceAsync(c, updated, cancellationToken);
    }

    /// <summary>Only $LATEST changes: versions are immutable and aliases are changed with UpdateAlias.</summary>
    private async Task<Result<FunctionConfiguration>> GetLatestForUpdateAsync(FunctionRef reference, CancellationToken cancellationToken) =>
        reference.Qualifier is null or "$LATEST"
            ? await GetAsync(reference, cancellationToken)
            : LambdaErrors.InvalidParameter("Current operation does not support versions other than $LATEST. Please set the version to $LATEST or do not set a version in your request.");

    private async Task<Result<FunctionConfiguration>> ReplaceAsync(FunctionConfiguration current, FunctionConfiguration updated, CancellationToken cancellationToken)
    {
        if (!await store.TryUpdateAsync(updated, current.RevisionId, cancellationToken))
        {
            Changing(() => _cache.TryRemove(current.Name, out _));
            return LambdaErrors.Conflict($"The operation cannot be performed at this time. An update is in progress for resource: {ArnOf(current.Name)}");
        }

        Changing(() =>
        {
            if (updated.EnvironmentError is null)
            {
                _cache[updated.Name] = updated;
            }
            else
            {
                // Unreadable variables are read again (and maybe readable again) on the next call.
                _cache.TryRemove(updated.Name, out _);
            }
        });

        await sandboxes.RetireAsync(updated.Name, "$LATEST", updated.SandboxIdentity);
        return updated;
    }

    /// <summary>An ARN naming another region or account does not name a function here.</summary>
    private bool IsOurs(FunctionRef reference) =>
        (reference.Region is null || reference.Region == account.Region) &&
        (reference.Account is null || reference.Account == account.AccountId);

    /// <summary>Deletes the function with all its versions and aliases, or one version when qualified by a number.</summary>
    public async Task<AwsError?> DeleteAsync(FunctionRef reference, CancellationToken cancellationToken)
    {
        if (!IsOurs(reference))
        {
            return LambdaErrors.FunctionNotFound(FunctionArn.For(reference.Region ?? account.Region, reference.Account ?? account.AccountId, reference.Name));
        }

        switch (reference.Qualifier)
        {
            case "$LATEST":
                return LambdaErrors.InvalidParameter("$LATEST version cannot be deleted without deleting the function.");
            case { } q when AliasValidator.IsVersionNumber(q):
                return await DeleteVersionAsync(reference.Name, q, cancellationToken);
            case not null:
                return await store.GetAsync(reference.Name, cancellationToken) is null
                    ? LambdaErrors.FunctionNotFound(ArnOf(reference.Name))
                    : LambdaErrors.InvalidParameter("Deletion of aliases is not currently supported.");
        }

        if (!await store.DeleteAsync(reference.Name, cancellationToken))
        {
            return LambdaErrors.FunctionNotFound(ArnOf(reference.Name));
        }

        Forget(reference.Name);
        await sandboxes.RetireAsync(reference.Name, version: null, keepIdentity: null);
        FunctionDeleted?.Invoke(reference.Name);
        return null;
    }

    private async Task<AwsError?> DeleteVersionAsync(string name, string version, CancellationToken cancellationToken)
    {
        var number = int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1;
        var deletion = number < 0 ? new VersionDeletion(false, []) : await store.DeleteVersionAsync(name, number, cancellationToken);
        if (deletion.BlockingAliases.Count > 0)
        {
            return LambdaErrors.Conflict($"Unable to delete version because the following aliases reference it: [{string.Join(", ", deletion.BlockingAliases)}]");
        }

        if (!deletion.Deleted)
        {
            return LambdaErrors.FunctionNotFound(ArnOf(name, version));
        }

        Changing(() => _versions.TryRemove((name, version), out _));
        await ForgetQualifierAsync(name, version, cancellationToken);
        await sandboxes.RetireAsync(name, version, keepIdentity: null);
        return null;
    }

    /// <summary>A version or alias is gone: so are its provisioned concurrency and event invoke configurations.</summary>
    internal async Task ForgetQualifierAsync(string name, string qualifier, CancellationToken cancellationToken)
    {
        await store.DeleteProvisionedConcurrencyAsync(name, qualifier, cancellationToken);
        await store.DeleteEventInvokeConfigAsync(name, qualifier, cancellationToken);
        QualifierDeleted?.Invoke(name, qualifier);
    }

    /// <summary>Drops everything cached about a function.</summary>
    private void Forget(string name) => Changing(() =>
    {
        _cache.TryRemove(name, out _);
        foreach (var key in _versions.Keys.Where(k => k.Function == name))
        {
            _versions.TryRemove(key, out _);
        }

        foreach (var key in _aliases.Keys.Where(k => k.Function == name))
        {
            _aliases.TryRemove(key, out _);
        }
    });

    /// <summary>A write: counted, and applied to the caches, in one step with respect to readers caching what they loaded.</summary>
    private void Changing(Action change)
    {
        lock (_cacheGate)
        {
            _writes++;
            change();
        }
    }

    /// <summary>The count of writes, for a reader to compare before it caches (see <see cref="CacheUnlessChanged"/>).</summary>
    private long WritesSoFar()
    {
        lock (_cacheGate)
        {
            return _writes;
        }
    }

    /// <summary>Caches what a read loaded, unless a write happened since the read began; never past MaxCachedEntries.</summary>
    private void CacheUnlessChanged<TKey, TValue>(ConcurrentDictionary<TKey, TValue> cache, TKey key, TValue value, long before)
        where TKey : notnull
    {
        lock (_cacheGate)
        {
            if (_writes != before)
            {
                return;
            }

            if (cache.Count > MaxCachedEntries)
            {
                cache.Clear();
            }

            cache.TryAdd(key, value);
        }
    }

    public async Task<Result<IReadOnlyDictionary<string, string>>> GetTagsAsync(string resource, CancellationToken cancellationToken)
    {
        var reference = TaggableFunction(resource);
        return reference.Ok ? await TagsOfAsync(reference.Value.Name, resource, cancellationToken) : reference.Error;
    }

    private async Task<Result<IReadOnlyDictionary<string, string>>> TagsOfAsync(string name, string resource, CancellationToken cancellationToken)
    {
        var tags = await store.GetTagsAsync(name, cancellationToken);
        return tags is null ? LambdaErrors.FunctionNotFound(resource) : Result.Of(tags);
    }

    /// <summary>Adds or overwrites tags (TagResource), or removes keys (UntagResource).</summary>
    public async Task<AwsError?> ChangeTagsAsync(string resource, IReadOnlyDictionary<string, string>? add, IReadOnlyCollection<string>? remove, CancellationToken cancellationToken)
    {
        var reference = TaggableFunction(resource);
        if (!reference.Ok)
        {
            return reference.Error;
        }

        // Read, change and write in one transaction: concurrent TagResource calls lose nothing.
        var changed = await store.ChangeTagsAsync(reference.Value.Name, current =>
        {
            var tags = new Dictionary<string, string>(current, StringComparer.Ordinal);
            foreach (var key in remove ?? [])
            {
                tags.Remove(key);
            }

            foreach (var (key, value) in add ?? new Dictionary<string, string>())
            {
                tags[key] = value;
            }

            return add is not null && FunctionValidator.ValidateTags(add, tags.Count - add.Count) is { } invalid ? invalid : tags;
        }, cancellationToken);
        return !changed.Ok ? changed.Error : changed.Value ? null : LambdaErrors.FunctionNotFound(resource);
    }

    /// <summary>Tags take a function's full, unqualified ARN, in this account and region.</summary>
    private Result<FunctionRef> TaggableFunction(string resource)
    {
        if (!FunctionArn.TryParse(resource, out var reference) || reference.Region is null || reference.Account is null)
        {
            return AwsErrors.Validation("resource", resource, @"Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:function:[a-zA-Z0-9-_]+");
        }

        if (reference.Qualifier is not null)
        {
            return LambdaErrors.InvalidParameter("Tags on function aliases and versions are not supported. Please specify a function ARN.");
        }

        return IsOurs(reference) ? reference : LambdaErrors.FunctionNotFound(resource);
    }

    public Task<(long Count, long TotalCodeSize)> UsageAsync(CancellationToken cancellationToken) => store.UsageAsync(cancellationToken);

    public string ZipPath(FunctionConfiguration function) => code.ZipPath(function.CodeSha256Hex);

    public string CodeDirectory(FunctionConfiguration function) => code.DirectoryOf(function.CodeSha256Hex);

    /// <summary>The function's layers merged for /opt, or null without layers.</summary>
    public string? OptDirectory(FunctionConfiguration function) => layers.OptDirectory(function);
}
