namespace Hayate.Sandboxes.Isolation;

/// <summary>Settings of the sandbox supervisor (section "Sandboxes").</summary>
public sealed record SandboxOptions
{
    /// <summary>"auto" (bubblewrap when installed), "bwrap" (required) or "process" (no isolation).</summary>
    public string Isolation { get; init; } = "auto";

    /// <summary>How long an idle sandbox stays warm.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Limit on processes and threads in one sandbox (Lambda allows 1,024).</summary>
    public int MaxProcesses { get; init; } = 1024;

    /// <summary>How long init (the runtime start and the module's global scope) may take.</summary>
    public TimeSpan InitTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Where the bootstraps live; default: runtimes/ beside the executable.</summary>
    public string? RuntimesDirectory { get; init; }

    /// <summary>Where the bootstraps are staged and compiled at start (the data directory's runtime/); null runs them in place.</summary>
    public string? StagingDirectory { get; init; }

    public string? PythonPath { get; init; }
    public string? NodePath { get; init; }
}
