using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Hayate.Kernel.Accounts;
using Hayate.Kernel.Errors;

namespace Hayate.Kms;

/// <summary>
/// Hayate's key service: KMS symmetric keys, aliases, Encrypt/Decrypt and data keys. The KMS wire
/// protocol and the Lambda side (environment variable encryption) both go through it. Errors carry
/// KMS error types (<see cref="KmsErrors"/>). Key material is kept unsealed in memory once used; a
/// state change made here (DisableKey, ScheduleKeyDeletion) applies to the very next call.
/// </summary>
public sealed partial class KeyService(IKeyStore store, MasterKey masterKey, AccountOptions account, TimeProvider time) : IDisposable
{
    /// <summary>The AWS managed key Lambda uses when a function names no key of its own.</summary>
    public const string LambdaAlias = "alias/aws/lambda";

    public const string AwsAliasPrefix = "alias/aws/";

    public const int DataKeySize = 32;

    /// <summary>AWS managed aliases created, with their key, the first time something names them.</summary>
    private static readonly Dictionary<string, string> ManagedAliases = new(StringComparer.Ordinal)
    {
        [LambdaAlias] = "Default key that protects my Lambda functions when no other key is defined",
    };

    private readonly ConcurrentDictionary<string, LoadedKey> _keys = new(StringComparer.Ordinal);

    // Alias name → key id; null marks an alias deleted here, so a lookup racing the delete cannot re-add it.
    private readonly ConcurrentDictionary<string, string?> _aliases = new(StringComparer.Ordinal);

    // Changes are rare: one at a time keeps read-modify-write of a key's state simple.
    private readonly SemaphoreSlim _writes = new(1, 1);

    private sealed record LoadedKey(StoredKey Stored, byte[] Material);

    private enum ReferenceKind
    {
        Key,
        Alias,
    }

    private readonly record struct KeyReference(ReferenceKind Kind, string Value);

    public string KeyArn(string keyId) => account.ArnFor("kms", "key/" + keyId);

    public string AliasArn(string aliasName) => account.ArnFor("kms", aliasName);

    // ---- The API for the Lambda side ----

    /// <summary>A new 256-bit data key under the key that <paramref name="keyIdOrArnOrAlias"/> names, bound to <paramref name="context"/>.</summary>
    public Task<Result<DataKey>> GenerateDataKeyAsync(string keyIdOrArnOrAlias, IReadOnlyDictionary<string, string>? context, CancellationToken cancellationToken) =>
        GenerateDataKeyAsync(keyIdOrArnOrAlias, DataKeySize, context, cancellationToken);

    /// <summary>The plaintext of a blob from Encrypt or GenerateDataKey; the context must be the one it was sealed with.</summary>
    public async Task<Result<byte[]>> DecryptAsync(byte[] ciphertext, IReadOnlyDictionary<string, string>? context, CancellationToken cancellationToken)
    {
        var decrypted = await DecryptAsync(ciphertext, context, null, cancellationToken);
        return decrypted.Ok ? decrypted.Value.Plaintext : decrypted.Error;
    }

    /// <summary>The key ARN of a key id, key ARN, alias name or alias ARN, in any key state (alias/aws/lambda is created on first use).</summary>
    public async Task<Result<string>> ResolveKeyArnAsync(string keyIdOrArn, CancellationToken cancellationToken)
    {
        var key = await FindAsync(keyIdOrArn, allowAlias: true, cancellationToken);
        return key.Ok ? KeyArn(key.Value.Stored.KeyId) : key.Error;
    }

    /// <summary>Fails start-up early when the master key is not the one the stored keys were sealed with.</summary>
    /// <exception cref="InvalidOperationException">the stored keys cannot be opened with this master key.</exception>
    public async Task CheckMasterKeyAsync(CancellationToken cancellationToken)
    {
        var first = await store.ListKeysAsync(null, 1, cancellationToken);
        if (first.Count > 0 && masterKey.Unseal(Guid.Parse(first[0].KeyId), first[0].SealedMaterial) is null)
        {
            throw new InvalidOperationException(
                $"the master key in {masterKey.Path} does not open the KMS keys stored in the data directory; start with the master key they were created under (--master-key-file)");
        }
    }

    // ---- KMS operations ----

    public async Task<Result<KmsKey>> CreateKeyAsync(string description, IReadOnlyList<KeyValuePair<string, string>> tags, CancellationToken cancellationToken)
    {
        foreach (var (key, value) in tags)
        {
            if (key.Length is < 1 or > 128 || value.Length > 256)
            {
                return KmsErrors.Tag($"Tag keys must be 1 to 128 characters and tag values at most 256: {key}");
            }

            if (key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase))
            {
                return KmsErrors.Tag($"Tag keys may not start with the reserved prefix aws: ({key})");
            }
        }

        var (stored, material) = NewKey(description, "CUSTOMER", tags);
        await store.CreateKeyAsync(stored, cancellationToken);
        _keys[stored.KeyId] = new LoadedKey(stored, material);
        return Describe(stored);
    }

    public async Task<Result<KmsKey>> DescribeKeyAsync(string keyId, CancellationToken cancellationToken)
    {
        var key = await FindAsync(keyId, allowAlias: true, cancellationToken);
        return key.Ok ? Describe(key.Value.Stored) : key.Error;
    }

    public async Task<Page<KmsKey>> ListKeysAsync(int limit, string? marker, CancellationToken cancellationToken)
    {
        var keys = await store.ListKeysAsync(marker, limit + 1, cancellationToken);
        var page = keys.Take(limit).Select(Describe).ToList();
        return new Page<KmsKey>(page, keys.Count > limit ? page[^1].KeyId : null);
    }

    public async Task<Result<Encryption>> EncryptAsync(string keyId, byte[] plaintext, IReadOnlyDictionary<string, string>? context, CancellationToken cancellationToken)
    {
        var key = await FindUsableAsync(keyId, cancellationToken);
        if (!key.Ok)
        {
            return key.Error;
        }

        var blob = KeyEnvelope.Seal(KeyEnvelope.CiphertextBlob, Guid.Parse(key.Value.Stored.KeyId), key.Value.Material, plaintext, context);
        return new Encryption(KeyArn(key.Value.Stored.KeyId), blob);
    }

    /// <summary>Decrypt; when <paramref name="keyId"/> is given it must name the key the blob was sealed with.</summary>
    public async Task<Result<Decryption>> DecryptAsync(byte[] ciphertext, IReadOnlyDictionary<string, string>? context, string? keyId, CancellationToken cancellationToken)
    {
        if (!KeyEnvelope.TryReadHeader(ciphertext, out var kind, out var sealedWith) || kind != KeyEnvelope.CiphertextBlob)
        {
            return KmsErrors.InvalidCiphertext();
        }

        var id = sealedWith.ToString("D");
        if (keyId is not null)
        {
            var named = await FindAsync(keyId, allowAlias: true, cancellationToken);
            if (!named.Ok)
            {
                return named.Error;
            }

            if (named.Value.Stored.KeyId != id)
            {
                return KmsErrors.IncorrectKey();
            }
        }

        var key = await LoadAsync(id, cancellationToken);
        if (!key.Ok)
        {
            return key.Error.Type == KmsErrors.NotFoundType ? KmsErrors.UnknownCiphertextKey() : key.Error;
        }

        if (Unusable(key.Value.Stored) is { } unusable)
        {
            return unusable;
        }

        var plaintext = KeyEnvelope.Open(KeyEnvelope.CiphertextBlob, ciphertext, key.Value.Material, context);
        return plaintext is null ? KmsErrors.InvalidCiphertext() : new Decryption(KeyArn(id), plaintext);
    }

    public async Task<Result<DataKey>> GenerateDataKeyAsync(string keyId, int numberOfBytes, IReadOnlyDictionary<string, string>? context, CancellationToken cancellationToken)
    {
        var plaintext = RandomNumberGenerator.GetBytes(numberOfBytes);
        var sealedKey = await EncryptAsync(keyId, plaintext, context, cancellationToken);
        return sealedKey.Ok ? new DataKey(sealedKey.Value.KeyArn, plaintext, sealedKey.Value.CiphertextBlob) : sealedKey.Error;
    }

    public Task<Result<KmsKey>> EnableKeyAsync(string keyId, CancellationToken cancellationToken) =>
        ChangeStateAsync(keyId, "EnableKey", key => key.KeyState == KeyStates.PendingDeletion
            ? KmsErrors.PendingDeletion(KeyArn(key.KeyId))
            : key with { KeyState = KeyStates.Enabled }, cancellationToken);

    public Task<Result<KmsKey>> DisableKeyAsync(string keyId, CancellationToken cancellationToken) =>
        ChangeStateAsync(keyId, "DisableKey", key => key.KeyState == KeyStates.PendingDeletion
            ? KmsErrors.PendingDeletion(KeyArn(key.KeyId))
            : key with { KeyState = KeyStates.Disabled }, cancellationToken);

    /// <summary>Marks the key PendingDeletion: from now on it encrypts and decrypts nothing. Hayate does not delete it later.</summary>
    public async Task<Result<ScheduledDeletion>> ScheduleKeyDeletionAsync(string keyId, int pendingWindowInDays, CancellationToken cancellationToken)
    {
        if (pendingWindowInDays is < 7 or > 30)
        {
            return KmsErrors.Validation($"PendingWindowInDays should be between 7 and 30, but it is {pendingWindowInDays}");
        }

        var deletionDate = time.GetUtcNow().AddDays(pendingWindowInDays);
        var changed = await ChangeStateAsync(keyId, "ScheduleKeyDeletion", key => key.KeyState == KeyStates.PendingDeletion
            ? KmsErrors.PendingDeletion(KeyArn(key.KeyId))
            : key with { KeyState = KeyStates.PendingDeletion, DeletionDate = deletionDate, PendingDeletionWindowInDays = pendingWindowInDays }, cancellationToken);
        return changed.Ok ? new ScheduledDeletion(changed.Value.Arn, deletionDate, pendingWindowInDays) : changed.Error;
    }

    public async Task<AwsError?> CreateAliasAsync(string aliasName, string targetKeyId, CancellationToken cancellationToken)
    {
        if (ValidateAliasName(aliasName) is { } invalid)
        {
            return invalid;
        }

        var target = await FindAsync(targetKeyId, allowAlias: false, cancellationToken);
        if (!target.Ok)
        {
            return target.Error;
        }

        if (target.Value.Stored.KeyState == KeyStates.PendingDeletion)
        {
            return KmsErrors.PendingDeletion(KeyArn(target.Value.Stored.KeyId));
        }

        var now = time.GetUtcNow();
        await _writes.WaitAsync(cancellationToken);
        try
        {
            if (!await store.TryCreateAliasAsync(new StoredAlias(aliasName, target.Value.Stored.KeyId, now, now), cancellationToken))
            {
                return KmsErrors.AliasExists(AliasArn(aliasName));
            }

            _aliases[aliasName] = target.Value.Stored.KeyId;
            return null;
        }
        finally
        {
            _writes.Release();
        }
    }

    public async Task<AwsError?> DeleteAliasAsync(string aliasName, CancellationToken cancellationToken)
    {
        if (!aliasName.StartsWith("alias/", StringComparison.Ordinal))
        {
            return KmsErrors.InvalidAliasName("Alias must start with the prefix \"alias/\".");
        }

        if (aliasName.StartsWith(AwsAliasPrefix, StringComparison.Ordinal))
        {
            return KmsErrors.NotAuthorized($"Aliases that begin with {AwsAliasPrefix} are AWS managed and cannot be deleted: {aliasName}");
        }

        await _writes.WaitAsync(cancellationToken);
        try
        {
            if (!await store.DeleteAliasAsync(aliasName, cancellationToken))
            {
                return KmsErrors.AliasNotFound(AliasArn(aliasName));
            }

            _aliases[aliasName] = null;
            return null;
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>Aliases by name; only those of <paramref name="keyId"/> (a key id or key ARN) when given.</summary>
    public async Task<Result<Page<KmsAlias>>> ListAliasesAsync(string? keyId, int limit, string? marker, CancellationToken cancellationToken)
    {
        string? target = null;
        if (keyId is not null)
        {
            var key = await FindAsync(keyId, allowAlias: false, cancellationToken);
            if (!key.Ok)
            {
                return key.Error;
            }

            target = key.Value.Stored.KeyId;
        }

        var aliases = await store.ListAliasesAsync(target, marker, limit + 1, cancellationToken);
        var page = aliases.Take(limit).Select(a => new KmsAlias(a.AliasName, AliasArn(a.AliasName), a.TargetKeyId, a.CreationDate, a.LastUpdatedDate)).ToList();
        return new Page<KmsAlias>(page, aliases.Count > limit ? page[^1].AliasName : null);
    }

    public void Dispose() => _writes.Dispose();

    // ---- Internals ----

    private KmsKey Describe(StoredKey key) => new()
    {
        KeyId = key.KeyId,
        Arn = KeyArn(key.KeyId),
        AccountId = account.AccountId,
        CreationDate = key.CreationDate,
        Description = key.Description,
        KeyUsage = key.KeyUsage,
        KeySpec = key.KeySpec,
        KeyManager = key.KeyManager,
        KeyState = key.KeyState,
        DeletionDate = key.DeletionDate,
        PendingDeletionWindowInDays = key.PendingDeletionWindowInDays,
    };

    private (StoredKey Stored, byte[] Material) NewKey(string description, string keyManager, IReadOnlyList<KeyValuePair<string, string>> tags)
    {
        var id = Guid.NewGuid();
        var material = RandomNumberGenerator.GetBytes(KeyEnvelope.KeySize);
        var stored = new StoredKey
        {
            KeyId = id.ToString("D"),
            CreationDate = time.GetUtcNow(),
            Description = description,
            KeyManager = keyManager,
            Tags = tags,
            SealedMaterial = masterKey.Seal(id, material),
        };
        return (stored, material);
    }

    private AwsError? Unusable(StoredKey key) => key.KeyState switch
    {
        KeyStates.Enabled => null,
        KeyStates.Disabled => KmsErrors.Disabled(KeyArn(key.KeyId)),
        KeyStates.PendingDeletion => KmsErrors.PendingDeletion(KeyArn(key.KeyId)),
        _ => new AwsError(KmsErrors.InvalidStateType, 400, $"{KeyArn(key.KeyId)} is {key.KeyState}."),
    };

    private async Task<Result<LoadedKey>> FindUsableAsync(string reference, CancellationToken cancellationToken)
    {
        var key = await FindAsync(reference, allowAlias: true, cancellationToken);
        if (!key.Ok)
        {
            return key.Error;
        }

        return Unusable(key.Value.Stored) is { } unusable ? unusable : key;
    }

    private async Task<Result<LoadedKey>> FindAsync(string reference, bool allowAlias, CancellationToken cancellationToken)
    {
        var parsed = Parse(reference, allowAlias);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        if (parsed.Value.Kind == ReferenceKind.Key)
        {
            return await LoadAsync(parsed.Value.Value, cancellationToken);
        }

        var aliasName = parsed.Value.Value;
        if (!_aliases.TryGetValue(aliasName, out var keyId))
        {
            var alias = await store.GetAliasAsync(aliasName, cancellationToken);
            // GetOrAdd: a delete or create that finished meanwhile has set the entry and wins.
            keyId = alias is null ? null : _aliases.GetOrAdd(aliasName, alias.TargetKeyId);
        }

        if (keyId is not null)
        {
            return await LoadAsync(keyId, cancellationToken);
        }

        return ManagedAliases.TryGetValue(aliasName, out var description)
            ? await CreateManagedKeyAsync(aliasName, description, cancellationToken)
            : KmsErrors.AliasNotFound(AliasArn(aliasName));
    }

    private async Task<Result<LoadedKey>> LoadAsync(string keyId, CancellationToken cancellationToken)
    {
        if (_keys.TryGetValue(keyId, out var cached))
        {
            return cached;
        }

        var stored = await store.GetKeyAsync(keyId, cancellationToken);
        if (stored is null)
        {
            return KmsErrors.KeyNotFound(KeyArn(keyId));
        }

        var material = masterKey.Unseal(Guid.Parse(keyId), stored.SealedMaterial);
        if (material is null)
        {
            return KmsErrors.Internal($"The key material of {KeyArn(keyId)} cannot be unsealed: the server's master key is not the one it was sealed with.");
        }

        // GetOrAdd: a state change that finished meanwhile has set the entry and wins over what we read.
        return _keys.GetOrAdd(keyId, new LoadedKey(stored, material));
    }

    private async Task<Result<LoadedKey>> CreateManagedKeyAsync(string aliasName, string description, CancellationToken cancellationToken)
    {
        await _writes.WaitAsync(cancellationToken);
        try
        {
            // Someone may have created it while we waited.
            if (await store.GetAliasAsync(aliasName, cancellationToken) is { } existing)
            {
                _aliases[aliasName] = existing.TargetKeyId;
                return await LoadAsync(existing.TargetKeyId, cancellationToken);
            }

            var (stored, material) = NewKey(description, "AWS", []);
            var now = stored.CreationDate;
            if (!await store.TryCreateKeyWithAliasAsync(stored, new StoredAlias(aliasName, stored.KeyId, now, now), cancellationToken))
            {
                // Another server on the same store won the race.
                var winner = await store.GetAliasAsync(aliasName, cancellationToken);
                return winner is null ? KmsErrors.AliasNotFound(AliasArn(aliasName)) : await LoadAsync(winner.TargetKeyId, cancellationToken);
            }

            var loaded = new LoadedKey(stored, material);
            _keys[stored.KeyId] = loaded;
            _aliases[aliasName] = stored.KeyId;
            return loaded;
        }
        finally
        {
            _writes.Release();
        }
    }

    private async Task<Result<KmsKey>> ChangeStateAsync(string reference, string operation, Func<StoredKey, Result<StoredKey>> change, CancellationToken cancellationToken)
    {
        var parsed = Parse(reference, allowAlias: false);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        await _writes.WaitAsync(cancellationToken);
        try
        {
            var key = await LoadAsync(parsed.Value.Value, cancellationToken);
            if (!key.Ok)
            {
                return key.Error;
            }

            var current = key.Value.Stored;
            if (current.KeyManager == "AWS")
            {
                return KmsErrors.AccessDenied($"You are not authorized to perform kms:{operation} on {KeyArn(current.KeyId)}: it is an AWS managed key.");
            }

            var next = change(current);
            if (!next.Ok)
            {
                return next.Error;
            }

            if (!await store.UpdateKeyStateAsync(current.KeyId, next.Value.KeyState, next.Value.DeletionDate, next.Value.PendingDeletionWindowInDays, cancellationToken))
            {
                return KmsErrors.KeyNotFound(KeyArn(current.KeyId));
            }

            _keys[current.KeyId] = key.Value with { Stored = next.Value };
            return Describe(next.Value);
        }
        finally
        {
            _writes.Release();
        }
    }

    /// <summary>A key id, key ARN, or (when allowed) alias name or alias ARN, checked against this account and region.</summary>
    private Result<KeyReference> Parse(string reference, bool allowAlias)
    {
        var resource = reference;
        var ours = true;
        if (reference.StartsWith("arn:", StringComparison.Ordinal))
        {
            var parts = reference.Split(':', 6);
            if (parts.Length != 6 || !parts[1].StartsWith("aws", StringComparison.Ordinal) || parts[2] != "kms")
            {
                return KmsErrors.InvalidKeyId(reference);
            }

            resource = parts[5];
            ours = parts[3] == account.Region && parts[4] == account.AccountId;
        }
        else if (!resource.StartsWith("alias/", StringComparison.Ordinal))
        {
            // A bare key id.
            return Guid.TryParseExact(reference, "D", out var bare)
                ? new KeyReference(ReferenceKind.Key, bare.ToString("D"))
                : KmsErrors.InvalidKeyId(reference);
        }

        if (resource.StartsWith("key/", StringComparison.Ordinal))
        {
            if (!Guid.TryParseExact(resource[4..], "D", out var id))
            {
                return KmsErrors.InvalidKeyId(reference);
            }

            return ours ? new KeyReference(ReferenceKind.Key, id.ToString("D")) : KmsErrors.KeyNotFound(reference);
        }

        if (resource.StartsWith("alias/", StringComparison.Ordinal) && resource.Length > "alias/".Length && allowAlias)
        {
            return ours ? new KeyReference(ReferenceKind.Alias, resource) : KmsErrors.AliasNotFound(reference);
        }

        return KmsErrors.InvalidKeyId(reference);
    }

    private static AwsError? ValidateAliasName(string aliasName)
    {
        if (aliasName.Length is < 1 or > 256 || !AliasPattern().IsMatch(aliasName))
        {
            return KmsErrors.Validation("aliasName", $"'{aliasName}'", "Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$");
        }

        if (!aliasName.StartsWith("alias/", StringComparison.Ordinal) || aliasName.Length == "alias/".Length)
        {
            return KmsErrors.InvalidAliasName("Alias must start with the prefix \"alias/\" followed by a name.");
        }

        return aliasName.StartsWith(AwsAliasPrefix, StringComparison.Ordinal)
            ? KmsErrors.NotAuthorized($"Alias names that begin with {AwsAliasPrefix} are reserved for AWS managed keys: {aliasName}")
            : null;
    }

    [GeneratedRegex("^[a-zA-Z0-9:/_-]+$")]
    private static partial Regex AliasPattern();
}
