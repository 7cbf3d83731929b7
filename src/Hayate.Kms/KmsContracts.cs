using System.Text.Json.Serialization;

namespace Hayate.Kms;

// The KMS shapes Hayate speaks, member names exactly as in the botocore model (kms 2014-11-01).
// Blobs are byte[] (base64 on the wire), timestamps epoch seconds (double).

public sealed class KmsTag
{
    public string? TagKey { get; set; }
    public string? TagValue { get; set; }
}

public sealed class CreateKeyRequest
{
    public string? Policy { get; set; }
    public string? Description { get; set; }
    public string? KeyUsage { get; set; }
    public string? CustomerMasterKeySpec { get; set; }
    public string? KeySpec { get; set; }
    public string? Origin { get; set; }
    public string? CustomKeyStoreId { get; set; }
    public bool? BypassPolicyLockoutSafetyCheck { get; set; }
    public List<KmsTag>? Tags { get; set; }
    public bool? MultiRegion { get; set; }
}

public sealed class KeyMetadataShape
{
    public string? AWSAccountId { get; set; }
    public string KeyId { get; set; } = "";
    public string? Arn { get; set; }
    public double CreationDate { get; set; }
    public bool Enabled { get; set; }
    public string? Description { get; set; }
    public string? KeyUsage { get; set; }
    public string? KeyState { get; set; }
    public double? DeletionDate { get; set; }
    public string? Origin { get; set; }
    public string? KeyManager { get; set; }
    public string? CustomerMasterKeySpec { get; set; }
    public string? KeySpec { get; set; }
    public List<string>? EncryptionAlgorithms { get; set; }
    public bool MultiRegion { get; set; }
    public int? PendingDeletionWindowInDays { get; set; }
}

public sealed class KeyMetadataResponse
{
    public KeyMetadataShape? KeyMetadata { get; set; }
}

public sealed class KeyIdRequest
{
    public string? KeyId { get; set; }
    public List<string>? GrantTokens { get; set; }
}

public sealed class ListKeysRequest
{
    public int? Limit { get; set; }
    public string? Marker { get; set; }
}

public sealed class KeyListEntry
{
    public string? KeyId { get; set; }
    public string? KeyArn { get; set; }
}

public sealed class ListKeysResponse
{
    public List<KeyListEntry> Keys { get; set; } = [];
    public string? NextMarker { get; set; }
    public bool Truncated { get; set; }
}

public sealed class EncryptRequest
{
    public string? KeyId { get; set; }
    public byte[]? Plaintext { get; set; }
    public Dictionary<string, string>? EncryptionContext { get; set; }
    public List<string>? GrantTokens { get; set; }
    public string? EncryptionAlgorithm { get; set; }
    public bool? DryRun { get; set; }
}

public sealed class EncryptResponse
{
    public byte[]? CiphertextBlob { get; set; }
    public string? KeyId { get; set; }
    public string? EncryptionAlgorithm { get; set; }
}

public sealed class DecryptRequest
{
    public byte[]? CiphertextBlob { get; set; }
    public Dictionary<string, string>? EncryptionContext { get; set; }
    public List<string>? GrantTokens { get; set; }
    public string? KeyId { get; set; }
    public string? EncryptionAlgorithm { get; set; }
    public bool? DryRun { get; set; }
}

public sealed class DecryptResponse
{
    public string? KeyId { get; set; }
    public byte[]? Plaintext { get; set; }
    public string? EncryptionAlgorithm { get; set; }
}

public sealed class GenerateDataKeyRequest
{
    public string? KeyId { get; set; }
    public Dictionary<string, string>? EncryptionContext { get; set; }
    public int? NumberOfBytes { get; set; }
    public string? KeySpec { get; set; }
    public List<string>? GrantTokens { get; set; }
    public bool? DryRun { get; set; }
}

public sealed class GenerateDataKeyResponse
{
    public byte[]? CiphertextBlob { get; set; }
    public byte[]? Plaintext { get; set; }
    public string? KeyId { get; set; }
}

public sealed class ScheduleKeyDeletionRequest
{
    public string? KeyId { get; set; }
    public int? PendingWindowInDays { get; set; }
}

public sealed class ScheduleKeyDeletionResponse
{
    public string? KeyId { get; set; }
    public double DeletionDate { get; set; }
    public string? KeyState { get; set; }
    public int PendingWindowInDays { get; set; }
}

public sealed class CreateAliasRequest
{
    public string? AliasName { get; set; }
    public string? TargetKeyId { get; set; }
}

public sealed class DeleteAliasRequest
{
    public string? AliasName { get; set; }
}

public sealed class ListAliasesRequest
{
    public string? KeyId { get; set; }
    public int? Limit { get; set; }
    public string? Marker { get; set; }
}

public sealed class AliasListEntry
{
    public string? AliasName { get; set; }
    public string? AliasArn { get; set; }
    public string? TargetKeyId { get; set; }
    public double CreationDate { get; set; }
    public double LastUpdatedDate { get; set; }
}

public sealed class ListAliasesResponse
{
    public List<AliasListEntry> Aliases { get; set; } = [];
    public string? NextMarker { get; set; }
    public bool Truncated { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.Unspecified)]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(KeyMetadataResponse))]
[JsonSerializable(typeof(KeyIdRequest))]
[JsonSerializable(typeof(ListKeysRequest))]
[JsonSerializable(typeof(ListKeysResponse))]
[JsonSerializable(typeof(EncryptRequest))]
[JsonSerializable(typeof(EncryptResponse))]
[JsonSerializable(typeof(DecryptRequest))]
[JsonSerializable(typeof(DecryptResponse))]
[JsonSerializable(typeof(GenerateDataKeyRequest))]
[JsonSerializable(typeof(GenerateDataKeyResponse))]
[JsonSerializable(typeof(ScheduleKeyDeletionRequest))]
[JsonSerializable(typeof(ScheduleKeyDeletionResponse))]
[JsonSerializable(typeof(CreateAliasRequest))]
[JsonSerializable(typeof(DeleteAliasRequest))]
[JsonSerializable(typeof(ListAliasesRequest))]
[JsonSerializable(typeof(ListAliasesResponse))]
internal sealed partial class KmsJson : JsonSerializerContext;
