namespace Hayate.Lambda.Invoking;

/// <summary>How asynchronous invocations of one function version or alias are retried, and where their outcomes go.</summary>
public sealed record EventInvokeConfig
{
    public const int DefaultRetryAttempts = 2;
    public const int DefaultMaximumEventAgeSeconds = 21_600;

    public required string FunctionName { get; init; }

    /// <summary>"$LATEST", a version number or an alias.</summary>
    public required string Qualifier { get; init; }
    public int? MaximumRetryAttempts { get; init; }
    public int? MaximumEventAgeInSeconds { get; init; }
    public string? OnSuccess { get; init; }
    public string? OnFailure { get; init; }
    public required DateTimeOffset LastModified { get; init; }

    public int RetryAttempts => MaximumRetryAttempts ?? DefaultRetryAttempts;

    public int MaximumEventAgeSeconds => MaximumEventAgeInSeconds ?? DefaultMaximumEventAgeSeconds;
}
