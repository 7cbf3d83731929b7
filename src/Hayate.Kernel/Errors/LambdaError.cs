namespace Hayate.Kernel.Errors;

/// <summary>
/// An expected failure of a Lambda API call, in the terms of the botocore model: the exception
/// name, its HTTP status and the casing of its message member. The Api layer maps it to the wire
/// in one place; everything below returns these instead of throwing.
/// </summary>
public sealed record LambdaError(string Type, int Status, string Message)
{
    /// <summary>"User" for sender faults, "Service" for ours.</summary>
    public string Kind => Status >= 500 && Type is "ServiceException" ? "Service" : "User";

    /// <summary>The model spells the message member "Message" for these shapes and "message" for the rest.</summary>
    public string MessageMember => CapitalMessage.Contains(Type) ? "Message" : "message";

    /// <summary>TooManyRequestsException's Reason (ThrottleReason enum).</summary>
    public string? Reason { get; init; }

    /// <summary>Seconds for the Retry-After header on throttles.</summary>
    public int? RetryAfterSeconds { get; init; }

    private static readonly HashSet<string> CapitalMessage = new(StringComparer.Ordinal)
    {
        "ResourceNotFoundException", "ServiceException", "InvalidZipFileException", "InvalidRuntimeException",
        "CodeVerificationFailedException", "InvalidCodeSignatureException", "ResourceInUseException",
        "CodeSigningConfigNotFoundException", "KMSAccessDeniedException", "KMSDisabledException",
        "KMSInvalidStateException", "KMSNotFoundException", "NoPublishedVersionException",
        "RecursiveInvocationException", "EC2AccessDeniedException", "EC2ThrottledException",
        "EC2UnexpectedException", "ENILimitReachedException", "SnapStartException",
    };
}

/// <summary>The catalog of errors Hayate raises, worded as AWS words them where that is known.</summary>
public static class LambdaErrors
{
    public static LambdaError FunctionNotFound(string arn) =>
        new("ResourceNotFoundException", 404, $"Function not found: {arn}");

    public static LambdaError NotFound(string message) => new("ResourceNotFoundException", 404, message);

    public static LambdaError InvalidParameter(string message) => new("InvalidParameterValueException", 400, message);

    public static LambdaError InvalidRequestContent(string message) => new("InvalidRequestContentException", 400, message);

    /// <summary>What the API front door answers when a member breaks the model's constraints.</summary>
    public static LambdaError Validation(string member, string value, string constraint) =>
        new("ValidationException", 400, $"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}");

    public static LambdaError Conflict(string message) => new("ResourceConflictException", 409, message);

    public static LambdaError PreconditionFailed(string message = "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id") =>
        new("PreconditionFailedException", 412, message);

    public static LambdaError RequestTooLarge(string message) => new("RequestTooLargeException", 413, message);

    public static LambdaError UnsupportedMediaType(string message) => new("UnsupportedMediaTypeException", 415, message);

    public static LambdaError Service(string message) => new("ServiceException", 500, message);

    public static LambdaError Throttled(string reason, string message) =>
        new("TooManyRequestsException", 429, message) { Reason = reason, RetryAfterSeconds = 1 };

    public static LambdaError UnknownOperation(string method, string path) =>
        new("UnknownOperationException", 404, $"Unknown operation: {method} {path}");
}
