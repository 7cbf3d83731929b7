using Hayate.Kernel.Errors;

namespace Hayate.Kms;

/// <summary>The KMS errors the key service raises, by their KMS type names, worded as AWS words them where that is known.</summary>
public static class KmsErrors
{
    public const string NotFoundType = "NotFoundException";
    public const string DisabledType = "DisabledException";
    public const string InvalidStateType = "KMSInvalidStateException";
    public const string InvalidCiphertextType = "InvalidCiphertextException";
    public const string AccessDeniedType = "AccessDeniedException";
    public const string InternalType = "KMSInternalException";

    public static AwsError InvalidKeyId(string keyId) => new(NotFoundType, 400, $"Invalid keyId {keyId}");

    public static AwsError KeyNotFound(string keyArn) => new(NotFoundType, 400, $"Key '{keyArn}' does not exist");

    public static AwsError AliasNotFound(string aliasArn) => new(NotFoundType, 400, $"Alias {aliasArn} is not found.");

    public static AwsError Disabled(string keyArn) => new(DisabledType, 400, $"{keyArn} is disabled.");

    public static AwsError PendingDeletion(string keyArn) => new(InvalidStateType, 400, $"{keyArn} is pending deletion.");

    public static AwsError InvalidCiphertext() =>
        new(InvalidCiphertextType, 400, "The ciphertext is invalid or was altered, or the encryption context does not match the one it was encrypted with.");

    public static AwsError UnknownCiphertextKey() =>
        new(AccessDeniedType, 400, "The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.");

    public static AwsError IncorrectKey() =>
        new("IncorrectKeyException", 400, "The key ID in the request does not identify a CMK that can perform this operation.");

    public static AwsError AliasExists(string aliasArn) => new("AlreadyExistsException", 400, $"An alias with the name {aliasArn} already exists");

    public static AwsError InvalidAliasName(string message) => new("InvalidAliasNameException", 400, message);

    public static AwsError NotAuthorized(string message) => new("NotAuthorizedException", 400, message);

    public static AwsError AccessDenied(string message) => new(AccessDeniedType, 400, message);

    public static AwsError Unsupported(string message) => new("UnsupportedOperationException", 400, message);

    public static AwsError InvalidKeyUsage(string message) => new("InvalidKeyUsageException", 400, message);

    public static AwsError Tag(string message) => new("TagException", 400, message);

    public static AwsError DryRun() => new("DryRunOperationException", 400, "The request would have succeeded, but the DryRun option is set.");

    public static AwsError Validation(string message) => new("ValidationException", 400, message);

    /// <summary>The model's wording for a member that breaks a constraint, e.g. ("keyId", "null", "Member must not be null").</summary>
    public static AwsError Validation(string member, string value, string constraint) =>
        new("ValidationException", 400, $"1 validation error detected: Value {value} at '{member}' failed to satisfy constraint: {constraint}");

    public static AwsError Internal(string message) => new(InternalType, 500, message);
}
