using System.Text.Json.Serialization;

namespace Hayate.Core.Functions;

/// <summary>The whole, immutable configuration of one function version (for now only $LATEST).</summary>
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
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<string> Architectures { get; init; } = ["x86_64"];

    /// <summary>Lowercase hex SHA-256 of the zip: the key of the code blob.</summary>
    public required string CodeSha256Hex { get; init; }
    public required long CodeSize { get; init; }
    public required string RevisionId { get; init; }
    public required DateTimeOffset LastModified { get; init; }
    public string Version { get; init; } = "$LATEST";

    /// <summary>The Lambda form of the code hash: base64 of the SHA-256.</summary>
    [JsonIgnore]
    public string CodeSha256 => Convert.ToBase64String(Convert.FromHexString(CodeSha256Hex));

    /// <summary>
    /// What a warm sandbox depends on. Two configurations with the same identity can share
    /// sandboxes; any change to it (code, runtime, handler, memory, environment, …) retires them.
    /// </summary>
    [JsonIgnore]
    public string SandboxIdentity => $"{Name}:{Version}:{RevisionId}";
}
