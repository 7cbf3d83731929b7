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

    /// <summary>"quota": CPU follows memory as a hard quota (1,769 MB = one vCPU), as on Lambda; "shared": weights only, so an idle host lends every core.</summary>
    public string Cpu { get; set; } = "quota";

    /// <summary>How long a sandbox may stay idle before it is frozen (cgroup freezer) until its next invocation; zero freezes at once.</summary>
    public TimeSpan FreezeAfter { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The first host uid sandboxes run as when the server is root (each live sandbox has its own).</summary>
    public int UidRangeStart { get; set; } = 1_600_000_000;

    /// <summary>How many uids from <see cref="UidRangeStart"/> are the sandboxes' (at most this many sandboxes at once).</summary>
    public int UidRangeSize { get; set; } = 65_536;

    /// <summary>"internet": a sandbox reaches the outside world (not this host, link-local or private ranges) as from Lambda; "none": only its own loopback.</summary>
    public string Egress { get; set; } = "internet";

    /// <summary>Ranges (CIDR) a sandbox may reach although they are private, link-local or this host's (--egress-allow).</summary>
    public List<string> EgressAllow { get; set; } = [];

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

        if (options.Cpu is not ("quota" or "shared"))
        {
            problems.Add($"Sandboxes:Cpu {options.Cpu}: must be quota or shared");
        }

        if (options.Egress is not ("internet" or "none"))
        {
            problems.Add($"Sandboxes:Egress {options.Egress}: must be internet or none");
        }

        foreach (var range in options.EgressAllow)
        {
            if (!Networking.EgressPolicy.TryParseRange(range, out _))
            {
                problems.Add($"Sandboxes:EgressAllow {range}: not an address or a range in CIDR form (the bits past the prefix zero), such as 192.168.1.5 or 10.1.0.0/16");
            }
        }

        if (options.FreezeAfter < TimeSpan.Zero)
        {
            problems.Add($"Sandboxes:FreezeAfter {options.FreezeAfter.TotalSeconds}: must be 0 seconds or more");
        }

        if (options.IdleTimeout <= TimeSpan.Zero)
        {
            problems.Add($"Sandboxes:IdleTimeout {options.IdleTimeout.TotalSeconds}: must be more than 0 seconds");
        }

        if (options.InitTimeout <= TimeSpan.Zero)
        {
            problems.Add($"Sandboxes:InitTimeout {options.InitTimeout.TotalSeconds}: must be more than 0 seconds");
        }

        if (options.UidRangeStart < 1000 || (long)options.UidRangeStart + options.UidRangeSize > int.MaxValue || options.UidRangeSize < 1)
        {
            problems.Add($"Sandboxes:UidRangeStart {options.UidRangeStart}: the range of sandbox uids must lie between 1000 and {int.MaxValue}, and hold at least one");
        }

        if (options.MaxProcesses < 1)
        {
            problems.Add($"Sandboxes:MaxProcesses {options.MaxProcesses}: must be at least 1");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
