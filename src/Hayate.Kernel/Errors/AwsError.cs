using Hayate.Kernel.Protocols;
using Microsoft.AspNetCore.Http;

namespace Hayate.Kernel.Errors;

/// <summary>
/// An expected failure of an AWS API call, in the terms of the botocore model: the exception name,
/// its HTTP status and its message. Everything below the endpoints returns these instead of
/// throwing; as an <see cref="IResult"/> it writes itself in the shape of the protocol that the
/// request came in by (<see cref="AwsProtocol"/>). Each service keeps its own list beside it.
/// </summary>
public sealed record AwsError(string Type, int Status, string Message) : IResult
{
    /// <summary>"User" for sender faults, "Service" for ours.</summary>
    public string Kind => Status >= 500 && Type is "ServiceException" ? "Service" : "User";

    /// <summary>TooManyRequestsException's Reason (Lambda's ThrottleReason enum).</summary>
    public string? Reason { get; init; }

    /// <summary>Seconds for the Retry-After header on throttles.</summary>
    public int? RetryAfterSeconds { get; init; }

    public Task ExecuteAsync(HttpContext httpContext) => AwsProtocol.Of(httpContext).WriteErrorAsync(httpContext, this);
}

/// <summary>The errors any AWS front door raises, whatever the service.</summary>
public static class AwsErrors
{
    /// <summary>What an API answers when a member breaks the model's constraints.</summary>
    public static AwsError Validation(string member, string value, string constraint) =>
        new("ValidationException", 400, $"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}");

    public static AwsError InvalidRequestContent(string message) => new("InvalidRequestContentException", 400, message);

    public static AwsError RequestTooLarge(string message) => new("RequestTooLargeException", 413, message);

    public static AwsError Service(string message) => new("ServiceException", 500, message);

    public static AwsError UnknownOperation(string method, string path) =>
        new("UnknownOperationException", 404, $"Unknown operation: {method} {path}");
}
