using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols;

namespace Hayate.Lambda;

/// <summary>The errors Lambda raises, worded as AWS words them where that is known.</summary>
public static class LambdaErrors
{
    /// <summary>Lambda's rest-json: the model spells the message member "Message" for these shapes and "message" for the rest.</summary>
    public static RestJsonProtocol Protocol { get; } = new(new HashSet<string>(StringComparer.Ordinal)
    {
        "ResourceNotFoundException", "ServiceException", "InvalidZipFileException", "InvalidRuntimeException",
        "CodeVerificationFailedException", "InvalidCodeSignatureException", "ResourceInUseException",
        "CodeSigningConfigNotFoundException", "KMSAccessDeniedException", "KMSDisabledException",
        "KMSInvalidStateException", "KMSNotFoundException", "NoPublishedVersionException",
        "RecursiveInvocationException", "EC2AccessDeniedException", "EC2ThrottledException",
        "EC2UnexpectedException", "ENILimitReachedException", "SnapStartException",
    });

    public static AwsError FunctionNotFound(string arn) =>
        new("ResourceNotFoundException", 404, $"Function not found: {arn}");

    public static AwsError NotFound(string message) => new("ResourceNotFoundException", 404, message);

    public static AwsError InvalidParameter(string message) => new("InvalidParameterValueException", 400, message);

    public static AwsError Conflict(string message) => new("ResourceConflictException", 409, message);

    public static AwsError PreconditionFailed(string message = "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id") =>
        new("PreconditionFailedException", 412, message);

    public static AwsError UnsupportedMediaType(string message) => new("UnsupportedMediaTypeException", 415, message);

    public static AwsError Throttled(string reason, string message) =>
        new("TooManyRequestsException", 429, message) { Reason = reason, RetryAfterSeconds = 1 };
}
