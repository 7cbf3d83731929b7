using Microsoft.Extensions.Options;

namespace Hayate.Sandboxes.Isolation;

/// <summary>Settings of the sandbox supervisor (section "Sandboxes").</summary>
public sealed record SandboxOptions
{
    /// <summary>"auto" (bubblewrap when installed), "bwrap" (required) or "process" (no isolation).</summary>
    public string Isolation { get; set; } = "auto";

    /// <summary>How long an idle sandbox stays warm.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Limit on processes and threads in one sandbox (Lambda allows 1,024).</summary>
    public int MaxProcesses { get; set; } = 1024;

    /// <summary>How long init (the runtime start and the module's global scope) may take.</summary>
    public TimeSpan InitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Where the bootstraps live; default: runtimes/ beside the executable.</summary>
    public string? RuntimesDirectory { get; set; }

    /// <summary>Where the bootstraps are staged and compiled at start (the data directory's runtime/); null runs them in place.</summary>
    public string? StagingDirectory { get; set; }

    public string? PythonPath { get; set; }
    public string? NodePath { get; set; }
}

/// <summary>Every problem with the sandbox settings at once, each naming its setting.</summary>
internal sealed class SandboxOptionsValidator : IValidateOptions<SandboxOptions>
{
    public ValidateOptionsResult Validate(string? name, SandboxOptions options)
    {
        var problems = new List<string>();
        if (options.Isolation is not ("auto" or "bwrap" or "process"))
        {
            problems.Add($"Sandboxes:Isolation {options.Isolation}: must be auto, bwrap or process");
        }

        if (options.IdleTimeout <= TimeSpan.Zero)
        {
            problems.Add($"Sandboxes:IdleTimeout {options.IdleTimeout.TotalSeconds}: must be more than 0 seconds");
        }

        if (options.InitTimeout <= TimeSpan.Zero)
        {
            problems.Add($"Sandboxes:InitTimeout {options.InitTimeout.TotalSeconds}: must be more than 0 seconds");
        }

        if (options.MaxProcesses < 1)
        {
            problems.Add($"Sandboxes:MaxProcesses {options.MaxProcesses}: must be at least 1");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
