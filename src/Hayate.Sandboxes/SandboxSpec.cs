
namespace Hayate.Sandboxes;

/// <summary>
/// Everything a sandbox needs to run one resolved function version. Sandboxes know nothing of
/// aliases or accounts: the Invocation layer resolves those and hands over this message.
/// </summary>
public sealed record SandboxSpec
{
    /// <summary>Sandboxes with equal identity are interchangeable; a new identity retires the old ones.</summary>
    public required string Identity { get; init; }
    public required string FunctionName { get; init; }
    public required string FunctionArn { get; init; }
    public required string Version { get; init; }
    public required string Runtime { get; init; }
    public required RuntimeKind Kind { get; init; }
    public required string Handler { get; init; }

    /// <summary>The unzipped code on the host; mounted read-only at /var/task.</summary>
    public required string CodeDirectory { get; init; }

    /// <summary>The function's layers merged in order on the host; mounted read-only at /opt. Null without layers.</summary>
    public string? OptDirectory { get; init; }
    public required int MemorySize { get; init; }
    public required int Timeout { get; init; }
    public required int EphemeralStorageSize { get; init; }
    public required IReadOnlyDictionary<string, string> Environment { get; init; }
    public required string Region { get; init; }
}

/// <summary>One invocation handed to a sandbox.</summary>
public sealed record SandboxInvocation
{
    public required string RequestId { get; init; }
    public required ReadOnlyMemory<byte> Payload { get; init; }
    public required string InvokedFunctionArn { get; init; }
    public string? ClientContext { get; init; }
    public string? CognitoIdentity { get; init; }
    public required string TraceId { get; init; }
}

/// <summary>What came back from a sandbox: the payload or the error, and what the REPORT line needs.</summary>
public sealed record SandboxResult
{
    public required ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>Null on success; the Lambda error type (e.g. "Runtime.ExitError") on failure.</summary>
    public string? ErrorType { get; init; }
    public bool IsError => ErrorType is not null;

    /// <summary>What the runtime printed during init (cold starts only).</summary>
    public string InitOutput { get; init; } = "";

    /// <summary>Everything the function printed for this invocation.</summary>
    public required string Output { get; init; }
    public required TimeSpan Duration { get; init; }
    public TimeSpan? InitDuration { get; init; }
    public required long MaxMemoryUsedBytes { get; init; }

    /// <summary>The sandbox's log stream name.</summary>
    public string LogStream { get; init; } = "";

    /// <summary>A platform event to log after REPORT, e.g. "Status: timeout".</summary>
    public string? Status { get; init; }
}
