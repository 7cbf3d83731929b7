namespace Hayate.Kms;

/// <summary>What DescribeKey tells about a KMS key; never the key material.</summary>
public sealed record KmsKey
{
    public required string KeyId { get; init; }
    public required string Arn { get; init; }
    public required string AccountId { get; init; }
    public required DateTimeOffset CreationDate { get; init; }
    public required string Description { get; init; }
    public required string KeyUsage { get; init; }
    public required string KeySpec { get; init; }
    public required string KeyManager { get; init; }
    public required string KeyState { get; init; }
    public DateTimeOffset? DeletionDate { get; init; }
    public int? PendingDeletionWindowInDays { get; init; }

    public bool Enabled => KeyState == KeyStates.Enabled;
}

/// <summary>The key states Hayate's keys go through (a subset of KMS's KeyState enum).</summary>
public static class KeyStates
{
    public const string Enabled = "Enabled";
    public const string Disabled = "Disabled";
    public const string PendingDeletion = "PendingDeletion";
}

/// <summary>A fresh data key: use <see cref="Plaintext"/> and forget it; keep <see cref="CiphertextBlob"/>, which Decrypt turns back into it.</summary>
public sealed record DataKey(string KeyArn, byte[] Plaintext, byte[] CiphertextBlob);

/// <summary>The result of Encrypt: the blob and the ARN of the key that sealed it.</summary>
public sealed record Encryption(string KeyArn, byte[] CiphertextBlob);

/// <summary>The result of Decrypt: the plaintext and the ARN of the key that had sealed it.</summary>
public sealed record Decryption(string KeyArn, byte[] Plaintext);

/// <summary>An alias as ListAliases shows it.</summary>
public sealed record KmsAlias(string AliasName, string AliasArn, string TargetKeyId, DateTimeOffset CreationDate, DateTimeOffset LastUpdatedDate);

/// <summary>One page of a list; <see cref="NextMarker"/> is null on the last page.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextMarker);

/// <summary>The outcome of ScheduleKeyDeletion.</summary>
public sealed record ScheduledDeletion(string KeyArn, DateTimeOffset DeletionDate, int PendingWindowInDays);
