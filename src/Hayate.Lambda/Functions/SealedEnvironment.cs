namespace Hayate.Lambda.Functions;

/// <summary>
/// A function's environment variables as they are stored: the variables (as JSON) encrypted with
/// AES-256-GCM under a data key, and the data key itself encrypted by the KMS key <see cref="KeyArn"/>.
/// </summary>
public sealed record SealedEnvironment
{
    public required string KeyArn { get; init; }

    /// <summary>The data key, as KMS's GenerateDataKey returned it (ciphertext).</summary>
    public required byte[] DataKey { get; init; }

    /// <summary>Nonce (12 bytes), tag (16 bytes), then the ciphertext of the variables.</summary>
    public required byte[] Ciphertext { get; init; }

    public bool SameAs(SealedEnvironment? other) =>
        other is not null && KeyArn == other.KeyArn && DataKey.AsSpan().SequenceEqual(other.DataKey) && Ciphertext.AsSpan().SequenceEqual(other.Ciphertext);
}
