using Hayate.Sandboxes.Isolation;

namespace Hayate.Sandboxes.Pooling;

/// <summary>Starts sandboxes for the pool: real processes in a server, stand-ins in the pool's own tests.</summary>
public interface ISandboxLauncher
{
    /// <summary>Starts a sandbox of <paramref name="spec"/>; throws <see cref="SandboxStartException"/> when it cannot.</summary>
    Task<IPooledSandbox> StartAsync(SandboxSpec spec, bool provisioned, CancellationToken cancellationToken);
}

/// <summary>What the pool needs of a sandbox: run invocations one at a time, say whether it still can, and stop.</summary>
public interface IPooledSandbox : IAsyncDisposable
{
    string Id { get; }

    SandboxSpec Spec { get; }

    /// <summary>False once it has exited, was killed, or failed its init.</summary>
    bool Alive { get; }

    /// <summary>Timestamp (TimeProvider ticks) of the end of the last invocation.</summary>
    long LastUsed { get; }

    /// <summary>Kept initialised for provisioned concurrency: not reaped when idle.</summary>
    bool Provisioned { get; set; }

    /// <summary>Time spent starting the process, before the runtime ran.</summary>
    LaunchTimings LaunchTimings { get; }

    Task<SandboxResult> InvokeAsync(SandboxInvocation invocation, CancellationToken cancellationToken);

    /// <summary>Runs init ahead of any invocation (provisioned concurrency); false if it failed, exited or took too long.</summary>
    Task<bool> InitializeAheadAsync(CancellationToken cancellationToken);
}
