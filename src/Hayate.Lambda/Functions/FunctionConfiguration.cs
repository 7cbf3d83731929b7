using System.Text.Json.Serialization;

namespace Hayate.Lambda.Functions;

/// <summary>The whole, immutable configuration of one function version: $LATEST or a published number.</summary>
public sealed record FunctionConfiguration
{
    public required string Name { get; init; }
    public required string Runtime { get; init; }
    public required string Handler { get; init; }
    public required string Role { get; init; }
    public string Description { get; init; } = "";
    public int MemorySize { get; init; } = Limits.DefaultMemorySize;
    public int Timeout { get; init; } = Limits.DefaultTimeout;
    public int EphemeralStorageSize { get; init; } = Limits.MinEphemeralStorage;
    /// <summary>
    /// The variables in plaintext, in memory only: the store keeps <see cref="Sealed"/> instead and
    /// never writes these when a sealed copy exists.
    /// </summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The environment encrypted at rest (envelope encryption); null when there are no variables.</summary>
    public SealedEnvironment? Sealed { get; init; }

    /// <summary>Where asynchronous events go after their last failed attempt: an SQS queue or SNS topic ARN.</summary>
    public string? DeadLetterTargetArn { get; init; }

    /// <summary>The customer's KMS key for the environment, as given; null means the default key (alias/aws/lambda).</summary>
    public string? KmsKeyArn { get; init; }

    /// <summary>Why the stored environment could not be decrypted (a KMS error), if it could not.</summary>
    [JsonIgnore]
    public Hayate.Kernel.Errors.AwsError? EnvironmentError { get; init; }
    public IReadOnlyList<string> Architectures { get; init; } = ["x86_64"];

    /// <summary>Layer versions in the order they are unpacked under /opt (a later one wins).</summary>
    public IReadOnlyList<Layers.FunctionLayer> Layers { get; init; } = [];

    /// <summary>Lowercase hex SHA-256 of the zip: the key of the code blob.</summary>
    public required string CodeSha256Hex { get; init; }
    public required long CodeSize { get; init; }
    public required string RevisionId { get; init; }
    public required DateTimeOffset LastModified { get; init; }
    public string Version { get; init; } = "$LATEST";

    /// <summary>For a published version: the RevisionId $LATEST had when it was published.</summary>
    public string? SourceRevisionId { get; init; }

    /// <summary>The Lambda form of the code hash: base64 of the SHA-256.</summary>
    [JsonIgnore]
    public string CodeSha256 => Convert.ToBase64String(Convert.FromHexString(CodeSha256Hex));

    /// <summary>
    /// True when publishing this configuration ($LATEST) would add nothing to <paramref name="other"/>,
    /// the newest version: $LATEST has not changed since, or has the same code and settings again.
    /// </summary>
    public bool SameDeployment(FunctionConfiguration other) =>
        other.SourceRevisionId == RevisionId ||
        (Name == other.Name && Description == other.Description && Runtime == other.Runtime && Handler == other.Handler && Role == other.Role &&
        MemorySize == other.MemorySize && Timeout == other.Timeout && EphemeralStorageSize == other.EphemeralStorageSize &&
        CodeSha256Hex == other.CodeSha256Hex && Architectures.SequenceEqual(other.Architectures) && Layers.SequenceEqual(other.Layers) &&
        KmsKeyArn == other.KmsKeyArn && DeadLetterTargetArn == other.DeadLetterTargetArn &&
        (Sealed is null ? other.Sealed is null : Sealed.SameAs(other.Sealed)) &&
        Environment.Count == other.Environment.Count &&
        Environment.All(kv => other.Environment.TryGetValue(kv.Key, out var v) && v == kv.Value));

    /// <summary>
    /// What a warm sandbox depends on. Two configurations with the same identity can share
    /// sandboxes; any change to it (code, runtime, handler, memory, environment, …) retires them.
    /// </summary>
    [JsonIgnore]
    public string SandboxIdentity => $"{Name}:{Version}:{RevisionId}";
}
