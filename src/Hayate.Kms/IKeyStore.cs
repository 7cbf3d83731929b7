namespace Hayate.Kms;

/// <summary>A KMS key as stored: its metadata and its key material, sealed under the master key (never plaintext).</summary>
public sealed record StoredKey
{
    /// <summary>The key id, a lowercase UUID.</summary>
    public required string KeyId { get; init; }

    public required DateTimeOffset CreationDate { get; init; }

    public string Description { get; init; } = "";

    public string KeyUsage { get; init; } = "ENCRYPT_DECRYPT";

    public string KeySpec { get; init; } = "SYMMETRIC_DEFAULT";

    /// <summary>CUSTOMER, or AWS for the managed keys behind alias/aws/*.</summary>
    public string KeyManager { get; init; } = "CUSTOMER";

    /// <summary>Enabled, Disabled or PendingDeletion.</summary>
    public string KeyState { get; init; } = "Enabled";

    public DateTimeOffset? DeletionDate { get; init; }

    public int? PendingDeletionWindowInDays { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> Tags { get; init; } = [];

    /// <summary>The 256-bit key material sealed with <see cref="KeyEnvelope.SealedKeyMaterial"/> under the master key.</summary>
    public required byte[] SealedMaterial { get; init; }
}

/// <summary>An alias name (alias/…) and the key id it points to.</summary>
public sealed record StoredAlias(string AliasName, string TargetKeyId, DateTimeOffset CreationDate, DateTimeOffset LastUpdatedDate);

/// <summary>Durable KMS keys and aliases. SQLite now; a PostgreSQL backend implements the same contract later.</summary>
public interface IKeyStore
{
    Task CreateKeyAsync(StoredKey key, CancellationToken cancellationToken);

    /// <summary>Creates a key and an alias to it in one transaction; false (and nothing written) when the alias exists.</summary>
    Task<bool> TryCreateKeyWithAliasAsync(StoredKey key, StoredAlias alias, CancellationToken cancellationToken);

    Task<StoredKey?> GetKeyAsync(string keyId, CancellationToken cancellationToken);

    /// <summary>Keys ordered by id, starting after <paramref name="afterKeyId"/>.</summary>
    Task<IReadOnlyList<StoredKey>> ListKeysAsync(string? afterKeyId, int limit, CancellationToken cancellationToken);

    /// <summary>Sets the key's state and deletion fields; false when there is no such key.</summary>
    Task<bool> UpdateKeyStateAsync(string keyId, string keyState, DateTimeOffset? deletionDate, int? pendingDeletionWindowInDays, CancellationToken cancellationToken);

    /// <summary>False when an alias of that name exists already.</summary>
    Task<bool> TryCreateAliasAsync(StoredAlias alias, CancellationToken cancellationToken);

    Task<StoredAlias?> GetAliasAsync(string aliasName, CancellationToken cancellationToken);

    /// <summary>Aliases ordered by name after <paramref name="afterName"/>, only those of <paramref name="targetKeyId"/> when given.</summary>
    Task<IReadOnlyList<StoredAlias>> ListAliasesAsync(string? targetKeyId, string? afterName, int limit, CancellationToken cancellationToken);

    Task<bool> DeleteAliasAsync(string aliasName, CancellationToken cancellationToken);
}
