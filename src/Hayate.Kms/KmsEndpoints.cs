using System.Globalization;
using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.Json;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Kms;

/// <summary>The KMS operations Hayate speaks (JSON 1.1, X-Amz-Target TrentService.*), over <see cref="KeyService"/>.</summary>
public static class KmsEndpoints
{
    private const string SymmetricDefault = "SYMMETRIC_DEFAULT";
    private const string EncryptDecrypt = "ENCRYPT_DECRYPT";

    public static JsonProtocolService Service { get; } = new()
    {
        TargetPrefix = "TrentService",
        JsonVersion = "1.1",
        Operations = new Dictionary<string, JsonOperation>(StringComparer.Ordinal)
        {
            ["CreateKey"] = CreateKey,
            ["DescribeKey"] = DescribeKey,
            ["ListKeys"] = ListKeys,
            ["Encrypt"] = Encrypt,
            ["Decrypt"] = Decrypt,
            ["GenerateDataKey"] = GenerateDataKey,
            ["EnableKey"] = EnableKey,
            ["DisableKey"] = DisableKey,
            ["ScheduleKeyDeletion"] = ScheduleKeyDeletion,
            ["CreateAlias"] = CreateAlias,
            ["ListAliases"] = ListAliases,
            ["DeleteAlias"] = DeleteAlias,
        },
    };

    private static KeyService Keys(JsonRequest request) => request.Services.GetRequiredService<KeyService>();

    private static async Task<Result<JsonReply>> CreateKey(JsonRequest request)
    {
        var parsed = request.Parse(KmsJson.Default.CreateKeyRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var input = parsed.Value;
        if (ValidateCreateKey(input) is { } invalid)
        {
            return invalid;
        }

        var tags = new List<KeyValuePair<string, string>>();
        foreach (var tag in input.Tags ?? [])
        {
            if (tag.TagKey is null || tag.TagValue is null)
            {
                return KmsErrors.Validation(tag.TagKey is null ? "tags.member.tagKey" : "tags.member.tagValue", "null", "Member must not be null");
            }

            tags.Add(KeyValuePair.Create(tag.TagKey, tag.TagValue));
        }

        var key = await Keys(request).CreateKeyAsync(input.Description ?? "", tags, request.CancellationToken);
        return key.Ok ? Metadata(key.Value) : key.Error;
    }

    private static AwsError? ValidateCreateKey(CreateKeyRequest input)
    {
        if (input.Description is { Length: > 8192 })
        {
            return KmsErrors.Validation("description", "(too long)", "Member must have length less than or equal to 8192");
        }

        if (input.KeyUsage is not (null or EncryptDecrypt))
        {
            return input.KeyUsage is "SIGN_VERIFY" or "GENERATE_VERIFY_MAC" or "KEY_AGREEMENT"
                ? KmsErrors.Unsupported($"KeyUsage {input.KeyUsage} is not supported by Hayate; only ENCRYPT_DECRYPT keys exist here.")
                : KmsErrors.Validation("keyUsage", $"'{input.KeyUsage}'", "Member must satisfy enum value set: [ENCRYPT_DECRYPT, SIGN_VERIFY, GENERATE_VERIFY_MAC, KEY_AGREEMENT]");
        }

        if (input.KeySpec is not (null or SymmetricDefault) || input.CustomerMasterKeySpec is not (null or SymmetricDefault))
        {
            return KmsErrors.Unsupported($"KeySpec {input.KeySpec ?? input.CustomerMasterKeySpec} is not supported by Hayate; only SYMMETRIC_DEFAULT keys exist here.");
        }

        if (input.Origin is not (null or "AWS_KMS") || input.CustomKeyStoreId is not null)
        {
            return KmsErrors.Unsupported("Hayate creates keys with Origin AWS_KMS only: no imported key material and no custom key stores.");
        }

        return input.MultiRegion is true ? KmsErrors.Unsupported("Hayate does not support multi-Region keys.") : null;
    }

    private static async Task<Result<JsonReply>> DescribeKey(JsonRequest request)
    {
        var parsed = request.Parse(KmsJson.Default.KeyIdRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        if (RequireKeyId(parsed.Value.KeyId) is { } invalid)
        {
            return invalid;
        }

        var key = await Keys(request).DescribeKeyAsync(parsed.Value.KeyId!, request.CancellationToken);
        return key.Ok ? Metadata(key.Value) : key.Error;
    }

    private static async Task<Result<JsonReply>> ListKeys(JsonRequest request)
    {
        var parsed = request.Parse(KmsJson.Default.ListKeysRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        if (ValidateLimit(parsed.Value.Limit, 1000) is { } invalid)
        {
            return invalid;
        }

        var page = await Keys(request).ListKeysAsync(parsed.Value.Limit ?? 100, parsed.Value.Marker, request.CancellationToken);
        return JsonReply.Of(new ListKeysResponse
        {
            Keys = page.Items.Select(k => new KeyListEntry { KeyId = k.KeyId, KeyArn = k.Arn }).ToList(),
            NextMarker = page.NextMarker,
            Truncated = page.NextMarker is not null,
        }, KmsJson.Default.ListKeysResponse);
    }

    private static async Task<Result<JsonReply>> Encrypt(JsonRequest request)
    {
        var parsed = request.Parse(KmsJson.Default.EncryptRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var input = parsed.Value;
        if ((RequireKeyId(input.KeyId) ?? ValidatePlaintext(input.Plaintext) ?? ValidateAlgorithm(input.EncryptionAlgorithm)) is { } invalid)
        {
            return invalid;
        }

        var encrypted = await Keys(request).EncryptAsync(input.KeyId!, input.Plaintext!, input.EncryptionContext, request.CancellationToken);
        if (!encrypted.Ok)
        {
            return encrypted.Error;
        }

        return input.DryRun is true ? KmsErrors.DryRun() : JsonReply.Of(new EncryptResponse
        {
            CiphertextBlob = encrypted.Value.CiphertextBlob,
            KeyId = encrypted.Value.KeyArn,
            EncryptionAlgorithm = SymmetricDefault,
        }, KmsJson.Default.EncryptResponse);
    }

    private static async Task<Result<JsonReply>> Decrypt(JsonRequest request)
    {
        var parsed = request.Parse(KmsJson.Default.DecryptRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var input = parsed.Value;
        if (input.CiphertextBlob is null)
        {
            return KmsErrors.Validation("ciphertextBlob", "null", "Member must not be null");
        }

        if (input.CiphertextBlob.Length is < 1 or > 6144)
        {
            return KmsErrors.Validation("ciphertextBlob", "java.nio.HeapByteBuffer", "Member must have length between 1 and 6144");
        }

        if (((input.KeyId is { Length: 0 } ? RequireKeyId(input.KeyId) : null) ?? ValidateAlgorithm(input.EncryptionAlgorithm)) is { } invalid)
        {
            return invalid;
        }

        var decrypted = await Keys(request).DecryptAsync(input.CiphertextBlob, input.EncryptionContext, input.KeyId, request.CancellationToken);
        if (!decrypted.Ok)
        {
            return decrypted.Error;
        }

        return input.DryRun is true ? KmsErrors.DryRun() : JsonReply.Of(new DecryptResponse
        {
            KeyId = decrypted.Value.KeyArn,
            Plaintext = decrypted.Value.Plaintext,
            EncryptionAlgorithm = SymmetricDefault,
        }, KmsJson.Default.DecryptResponse);
    }

    private static async Task<Result<JsonReply>> GenerateDataKey(JsonRequest request)
    {
        var parsed = request.Parse(KmsJson.Default.GenerateDataKeyRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        var input = parsed.Value;
        if (RequireKeyId(input.KeyId) is { } invalid)
        {
            return invalid;
        }

        int size;
        switch (input.KeySpec, input.NumberOfBytes)
        {
            case (null, null) or (not null, not null):
                return KmsErrors.Validation("Please specify either number of bytes or key spec.");
            case ("AES_256", null):
                size = 32;
                break;
            case ("AES_128", null):
                size = 16;
                break;
            case (not null, null):
                return KmsErrors.Validation("keySpec", $"'{input.KeySpec}'", "Member must satisfy enum value set: [AES_256, AES_128]");
            default:
                size = input.NumberOfBytes!.Value;
                if (size is < 1 or > 1024)
                {
                    return KmsErrors.Validation("numberOfBytes", size.ToString(CultureInfo.InvariantCulture), "Member must have value between 1 and 1024");
                }

                break;
        }

        var dataKey = await Keys(request).GenerateDataKeyAsync(input.KeyId!, size, input.EncryptionContext, request.CancellationToken);
        if (!dataKey.Ok)
        {
            return dataKey.Error;
        }

        return input.DryRun is true ? KmsErrors.DryRun() : JsonReply.Of(new GenerateDataKeyResponse
        {
            CiphertextBlob = dataKey.Value.CiphertextBlob,
            Plaintext = dataKey.Value.Plaintext,
            KeyId = dataKey.Value.KeyArn,
        }, KmsJson.Default.GenerateDataKeyResponse);
    }

    private static Task<Result<JsonReply>> EnableKey(JsonRequest request) =>
        ChangeStateAsync(request, (keys, keyId) => keys.EnableKeyAsync(keyId, request.CancellationToken));

    private static Task<Result<JsonReply>> DisableKey(JsonRequest request) =>
        ChangeStateAsync(request, (keys, keyId) => keys.DisableKeyAsync(keyId, request.CancellationToken));

    private static async Task<Result<JsonReply>> ChangeStateAsync(JsonRequest request, Func<KeyService, string, Task<Result<KmsKey>>> change)
    {
        var parsed = request.Parse(KmsJson.Default.KeyIdRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        if (RequireKeyId(parsed.Value.KeyId) is { } invalid)
        {
            return invalid;
        }

        var changed = await change(Keys(request), parsed.Value.KeyId!);
        return changed.Ok ? JsonReply.Empty : changed.Error;
    }

    private static async Task<Result<JsonReply>> ScheduleKeyDeletion(JsonRequest request)
    {
        var parsed = request.Parse(KmsJson.Default.ScheduleKeyDeletionRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        if (RequireKeyId(parsed.Value.KeyId) is { } invalid)
        {
            return invalid;
        }

        var scheduled = await Keys(request).ScheduleKeyDeletionAsync(parsed.Value.KeyId!, parsed.Value.PendingWindowInDays ?? 30, request.CancellationToken);
        return scheduled.Ok
            ? JsonReply.Of(new ScheduleKeyDeletionResponse
            {
                KeyId = scheduled.Value.KeyArn,
                DeletionDate = EpochSeconds(scheduled.Value.DeletionDate),
                KeyState = KeyStates.PendingDeletion,
                PendingWindowInDays = scheduled.Value.PendingWindowInDays,
            }, KmsJson.Default.ScheduleKeyDeletionResponse)
            : scheduled.Error;
    }

    private static async Task<Result<JsonReply>> CreateAlias(JsonRequest request)
    {
        var parsed = request.Parse(KmsJson.Default.CreateAliasRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        if (parsed.Value.AliasName is null)
        {
            return KmsErrors.Validation("aliasName", "null", "Member must not be null");
        }

        if (RequireKeyId(parsed.Value.TargetKeyId, "targetKeyId") is { } invalid)
        {
            return invalid;
        }

        var error = await Keys(request).CreateAliasAsync(parsed.Value.AliasName, parsed.Value.TargetKeyId!, request.CancellationToken);
        return error is null ? JsonReply.Empty : error;
    }

    private static async Task<Result<JsonReply>> DeleteAlias(JsonRequest request)
    {
        var parsed = request.Parse(KmsJson.Default.DeleteAliasRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        if (parsed.Value.AliasName is null)
        {
            return KmsErrors.Validation("aliasName", "null", "Member must not be null");
        }

        var error = await Keys(request).DeleteAliasAsync(parsed.Value.AliasName, request.CancellationToken);
        return error is null ? JsonReply.Empty : error;
    }

    private static async Task<Result<JsonReply>> ListAliases(JsonRequest request)
    {
        var parsed = request.Parse(KmsJson.Default.ListAliasesRequest);
        if (!parsed.Ok)
        {
            return parsed.Error;
        }

        if ((ValidateLimit(parsed.Value.Limit, 100) ?? (parsed.Value.KeyId is { Length: 0 } ? RequireKeyId("") : null)) is { } invalid)
        {
            return invalid;
        }

        var page = await Keys(request).ListAliasesAsync(parsed.Value.KeyId, parsed.Value.Limit ?? 50, parsed.Value.Marker, request.CancellationToken);
        if (!page.Ok)
        {
            return page.Error;
        }

        return JsonReply.Of(new ListAliasesResponse
        {
            Aliases = page.Value.Items.Select(a => new AliasListEntry
            {
                AliasName = a.AliasName,
                AliasArn = a.AliasArn,
                TargetKeyId = a.TargetKeyId,
                CreationDate = EpochSeconds(a.CreationDate),
                LastUpdatedDate = EpochSeconds(a.LastUpdatedDate),
            }).ToList(),
            NextMarker = page.Value.NextMarker,
            Truncated = page.Value.NextMarker is not null,
        }, KmsJson.Default.ListAliasesResponse);
    }

    private static JsonReply Metadata(KmsKey key) => JsonReply.Of(new KeyMetadataResponse
    {
        KeyMetadata = new KeyMetadataShape
        {
            AWSAccountId = key.AccountId,
            KeyId = key.KeyId,
            Arn = key.Arn,
            CreationDate = EpochSeconds(key.CreationDate),
            Enabled = key.Enabled,
            Description = key.Description,
            KeyUsage = key.KeyUsage,
            KeyState = key.KeyState,
            DeletionDate = key.DeletionDate is { } deletion ? EpochSeconds(deletion) : null,
            Origin = "AWS_KMS",
            KeyManager = key.KeyManager,
            CustomerMasterKeySpec = key.KeySpec,
            KeySpec = key.KeySpec,
            EncryptionAlgorithms = [SymmetricDefault],
            MultiRegion = false,
            PendingDeletionWindowInDays = key.PendingDeletionWindowInDays,
        },
    }, KmsJson.Default.KeyMetadataResponse);

    private static double EpochSeconds(DateTimeOffset time) => time.ToUnixTimeMilliseconds() / 1000.0;

    private static AwsError? RequireKeyId(string? keyId, string member = "keyId") => keyId switch
    {
        null => KmsErrors.Validation(member, "null", "Member must not be null"),
        { Length: 0 or > 2048 } => KmsErrors.Validation(member, $"'{keyId}'", "Member must have length between 1 and 2048"),
        _ => null,
    };

    private static AwsError? ValidatePlaintext(byte[]? plaintext) => plaintext switch
    {
        null => KmsErrors.Validation("plaintext", "null", "Member must not be null"),
        { Length: 0 or > 4096 } => KmsErrors.Validation("plaintext", "java.nio.HeapByteBuffer", "Member must have length between 1 and 4096"),
        _ => null,
    };

    private static AwsError? ValidateAlgorithm(string? algorithm) => algorithm switch
    {
        null or SymmetricDefault => null,
        "RSAES_OAEP_SHA_1" or "RSAES_OAEP_SHA_256" or "SM2PKE" => KmsErrors.InvalidKeyUsage($"The encryption algorithm {algorithm} is not compatible with a symmetric key."),
        _ => KmsErrors.Validation("encryptionAlgorithm", $"'{algorithm}'", "Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, SM2PKE]"),
    };

    private static AwsError? ValidateLimit(int? limit, int max) =>
        limit is { } n && (n < 1 || n > max)
            ? KmsErrors.Validation("limit", n.ToString(CultureInfo.InvariantCulture), $"Member must have value between 1 and {max}")
            : null;
}
