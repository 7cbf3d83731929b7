using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hayate.Kernel.Errors;
using Hayate.Kms;

namespace Hayate.Lambda.Functions;

/// <summary>
/// Envelope encryption of function environments: a fresh AES-256-GCM data key per seal from the
/// function's KMS key (or alias/aws/lambda), bound to the function's name as encryption context.
/// Only the encrypted data key and the ciphertext are stored.
/// </summary>
public sealed class EnvironmentCipher(KeyService keys)
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public async Task<Result<SealedEnvironment?>> SealAsync(string functionName, IReadOnlyDictionary<string, string> variables, string? kmsKeyArn, CancellationToken cancellationToken)
    {
        if (variables.Count == 0)
        {
            return Result.Of<SealedEnvironment?>(null);
        }

        var dataKey = await keys.GenerateDataKeyAsync(kmsKeyArn ?? KeyService.LambdaAlias, Context(functionName), cancellationToken);
        if (!dataKey.Ok)
        {
            return LambdaErrors.InvalidParameter(
                $"Lambda was unable to configure access to your environment variables because the KMS key is invalid for CreateGrant. Please check your KMS key settings. KMS Exception: {dataKey.Error.Type} KMS Message: {dataKey.Error.Message}");
        }

        var plaintext = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>(variables), EnvironmentJson.Default.DictionaryStringString);
        var sealedBytes = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        try
        {
            using var aes = new AesGcm(dataKey.Value.Plaintext, TagSize);
            aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey.Value.Plaintext);
            CryptographicOperations.ZeroMemory(plaintext);
        }

        return new SealedEnvironment { KeyArn = dataKey.Value.KeyArn, DataKey = dataKey.Value.CiphertextBlob, Ciphertext = sealedBytes };
    }

    /// <summary>The variables, or the KMS error Lambda reports when they cannot be decrypted.</summary>
    public async Task<Result<IReadOnlyDictionary<string, string>>> OpenAsync(string functionName, SealedEnvironment sealedEnvironment, CancellationToken cancellationToken)
    {
        var dataKey = await keys.DecryptAsync(sealedEnvironment.DataKey, Context(functionName), cancellationToken);
        if (!dataKey.Ok)
        {
            return LambdaKmsError(dataKey.Error);
        }

        var blob = sealedEnvironment.Ciphertext;
        if (blob.Length < NonceSize + TagSize)
        {
            return LambdaKmsError(KmsErrors.InvalidCiphertext());
        }

        var plaintext = new byte[blob.Length - NonceSize - TagSize];
        try
        {
            using var aes = new AesGcm(dataKey.Value, TagSize);
            aes.Decrypt(blob.AsSpan(0, NonceSize), blob.AsSpan(NonceSize + TagSize), blob.AsSpan(NonceSize, TagSize), plaintext);
            return JsonSerializer.Deserialize(plaintext, EnvironmentJson.Default.DictionaryStringString) is { } variables
                ? variables
                : LambdaKmsError(KmsErrors.InvalidCiphertext());
        }
        catch (AuthenticationTagMismatchException)
        {
            return LambdaKmsError(KmsErrors.InvalidCiphertext());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(dataKey.Value);
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    /// <summary>Checks that the key still lets the data key be decrypted (not disabled, not pending deletion).</summary>
    public async Task<AwsError?> CheckAsync(string functionName, SealedEnvironment sealedEnvironment, CancellationToken cancellationToken)
    {
        var dataKey = await keys.DecryptAsync(sealedEnvironment.DataKey, Context(functionName), cancellationToken);
        if (!dataKey.Ok)
        {
            return LambdaKmsError(dataKey.Error);
        }

        CryptographicOperations.ZeroMemory(dataKey.Value);
        return null;
    }

    /// <summary>A KMS failure as Lambda reports it on invoke (HTTP 502), by the KMS error type.</summary>
    public static AwsError LambdaKmsError(AwsError kms)
    {
        var (type, reason) = kms.Type switch
        {
            KmsErrors.NotFoundType => ("KMSNotFoundException", "the KMS key was not found"),
            KmsErrors.DisabledType => ("KMSDisabledException", "the KMS key used is disabled"),
            KmsErrors.InvalidStateType => ("KMSInvalidStateException", "the state of the KMS key used is not valid for Decrypt"),
            _ => ("KMSAccessDeniedException", "KMS access was denied"),
        };
        return new AwsError(type, 502,
            $"Lambda was unable to decrypt the environment variables because {reason}. Please check the function's KMS key settings. KMS Exception: {kms.Type} KMS Message: {kms.Message}");
    }

    private static Dictionary<string, string> Context(string functionName) => new(StringComparer.Ordinal) { ["LambdaFunctionName"] = functionName };
}

[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class EnvironmentJson : JsonSerializerContext;
