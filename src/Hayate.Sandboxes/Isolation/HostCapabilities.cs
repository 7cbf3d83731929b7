
namespace Hayate.Sandboxes.Isolation;

/// <summary>
/// What this host lets us enforce, found once at start: bubblewrap, a private network namespace
/// per sandbox (needs root to enter it), cgroups, and where the interpreters are.
/// </summary>
public sealed class HostCapabilities
{
    private HostCapabilities()
    {
    }

    /// <summary>Path of bwrap, or null when sandboxes run as plain processes.</summary>
    public string? Bwrap { get; private init; }

    /// <summary>True when each sandbox gets its own network namespace (made by the server, as root) with the Runtime API at 127.0.0.1:9001.</summary>
    public bool PrivateNetwork { get; private init; }

    /// <summary>Path of slirp4netns, which gives sandbox namespaces their way out; null when it is not installed.</summary>
    public string? Slirp4netns { get; private init; }

    /// <summary>The host uids sandboxes run as (the server is root); null when they run as the server's own user.</summary>
    public SandboxUsers? Users { get; private init; }

    /// <summary>setpriv, which switches to a sandbox's uid (and sets no_new_privs) before bubblewrap runs.</summary>
    public string? Setpriv { get; private init; }

    /// <summary>bubblewrap can forbid user namespaces inside the sandbox (--disable-userns, 0.8 and later).</summary>
    public bool DisableUserns { get; private init; }

    /// <summary>The seccomp filter as BPF for bubblewrap's --seccomp; null when libseccomp is missing.</summary>
    public byte[]? Seccomp { get; private init; }

    public required Cgroups Cgroups { get; init; }
    public required string RuntimesDirectory { get; init; }

    /// <summary>True when python sandboxes run the precompiled bootstrap.pyc.</summary>
    public bool PythonPrecompiled { get; private init; }
    public string? Python { get; private init; }
    public string? Node { get; private init; }

    /// <summary>Host directories (outside /usr) that must be visible read-only inside for the interpreters to run.</summary>
    public IReadOnlyList<string> ExtraReadOnlyDirectories { get; private init; } = [];

    /// <summary>Protections that are off on this host, each with what to do about it.</summary>
    public IReadOnlyList<string> Warnings { get; private init; } = [];

    public static HostCapabilities Detect(SandboxOptions options)
    {
        var warnings = new List<string>();
        var isRoot = Native.geteuid() == 0;
        string? bwrap = null;
        if (!string.Equals(options.Isolation, "process", StringComparison.Ordinal))
        {
            bwrap = FindExecutable("bwrap");
            if (bwrap is null)
            {
                if (string.Equals(options.Isolation, "bwrap", StringComparison.Ordinal))
                {
                    throw new InvalidOperationException("Sandboxes:Isolation is 'bwrap' but bubblewrap is not installed: apt-get install bubblewrap");
                }

                warnings.Add("bubblewrap (bwrap) is not installed: functions run as plain processes with NO isolation (shared filesystem, network and /tmp). Install it with: apt-get install bubblewrap");
            }
        }
        else
        {
            warnings.Add("Sandboxes:Isolation is 'process': functions run as plain processes with NO isolation");
        }

        var privateNetwork = bwrap is not null && isRoot;
        if (bwrap is not null && !isRoot)
        {
            warnings.Add("not running as root: sandboxes share the host's network, with no egress rules (the Runtime API listens on a loopback port per sandbox)");
        }

        string? setpriv = null;
        SandboxUsers? users = null;
        var disableUserns = false;
        byte[]? seccomp = null;
        if (bwrap is not null)
        {
            disableUserns = BwrapVersion(bwrap) >= new Version(0, 8);
            if (!disableUserns)
            {
                warnings.Add("bubblewrap is older than 0.8: functions are kept out of nested user namespaces by seccomp alone (no --disable-userns)");
            }

            seccomp = SeccompProfile.Bpf;
            if (seccomp is null)
            {
                warnings.Add($"libseccomp could not be used ({SeccompProfile.Problem}): NO system-call filter; install libseccomp2");
            }

            if (isRoot)
            {
                setpriv = FindFirst("/usr/bin/setpriv", "/bin/setpriv") ?? FindExecutable("setpriv");
                if (setpriv is null)
                {
                    throw new InvalidOperationException("running as root, sandboxes must switch to an unprivileged uid, and setpriv (util-linux) is not installed: apt-get install util-linux");
                }

                users = new SandboxUsers(options.UidRangeStart, options.UidRangeSize);
            }
        }

        var cgroups = Cgroups.Detect("hayate");
        if (!cgroups.Enabled)
        {
            warnings.Add($"cgroups are off: {cgroups.Problem}; memory, process-count and CPU limits are NOT enforced");
        }

        var runtimes = options.RuntimesDirectory ?? Path.Combine(AppContext.BaseDirectory, "runtimes");
        var python = options.PythonPath ?? FindFirst("/usr/bin/python3", "/usr/local/bin/python3") ?? FindExecutable("python3");
        var node = options.NodePath ?? FindFirst("/usr/bin/node", "/usr/local/bin/node") ?? FindExecutable("node");
        if (python is null)
        {
            warnings.Add("python3 was not found: python runtimes cannot run (apt-get install python3)");
        }

        if (node is null)
        {
            warnings.Add("node was not found: nodejs runtimes cannot run (apt-get install nodejs)");
        }

        var precompiled = false;
        if (options.StagingDirectory is { } staging && Directory.Exists(runtimes))
        {
            precompiled = RuntimeFiles.Stage(runtimes, staging, python);
            runtimes = staging;
        }

        var extra = new List<string>();
        foreach (var interpreter in new[] { python, node })
        {
            if (interpreter is null || bwrap is null)
            {
                continue;
            }

            var real = new FileInfo(interpreter).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? interpreter;
            if (!real.StartsWith("/usr/", StringComparison.Ordinal))
            {
                // e.g. /opt/python/3.12/bin/python3 → /opt/python/3.12
                var prefix = Path.GetDirectoryName(Path.GetDirectoryName(real));
                if (prefix is not null && prefix != "/")
                {
                    extra.Add(prefix);
                }
            }
        }

        var slirp = privateNetwork ? FindFirst("/usr/bin/slirp4netns") ?? FindExecutable("slirp4netns") : null;
        return new HostCapabilities
        {
            Bwrap = bwrap,
            PrivateNetwork = privateNetwork,
            Slirp4netns = slirp,
            Users = users,
            Setpriv = setpriv,
            DisableUserns = disableUserns,
            Seccomp = seccomp,
            Cgroups = cgroups,
            RuntimesDirectory = runtimes,
            PythonPrecompiled = precompiled,
            Python = python,
            Node = node,
            ExtraReadOnlyDirectories = extra,
            Warnings = warnings,
        };
    }

    /// <summary>This host with other cgroups (tests lay out cgroup trees in a directory).</summary>
    internal HostCapabilities WithCgroups(Cgroups cgroups) => new()
    {
        Bwrap = Bwrap,
        PrivateNetwork = PrivateNetwork,
        Slirp4netns = Slirp4netns,
        Users = Users,
        Setpriv = Setpriv,
        DisableUserns = DisableUserns,
        Seccomp = Seccomp,
        Cgroups = cgroups,
        RuntimesDirectory = RuntimesDirectory,
        PythonPrecompiled = PythonPrecompiled,
        Python = Python,
        Node = Node,
        ExtraReadOnlyDirectories = ExtraReadOnlyDirectories,
        Warnings = Warnings,
    };

    /// <summary>One line per protection, for the server's start banner.</summary>
    public IEnumerable<string> Describe()
    {
        yield return Bwrap is null
            ? "isolation: none (plain processes)"
            : $"isolation: bubblewrap ({Bwrap}): user, pid, mount, ipc, uts, cgroup{(PrivateNetwork ? ", net" : "")} namespaces; read-only root, /tmp the only writable place"
                + (DisableUserns ? "; no nested user namespaces" : "")
                + (Seccomp is null ? "; NO seccomp filter" : "; seccomp filter")
                + (Users is null ? "; as the server's own user" : $"; each sandbox as its own host uid from {Users.FirstUid}");
        yield return Cgroups.Enabled
            ? $"cgroups: {Cgroups.Layout.ToString().ToLowerInvariant()}: memory limit = MemorySize, pids limit, CPU by memory{(Cgroups.CanFreeze ? ", frozen between invocations" : "")}"
            : "cgroups: off";
        yield return $"runtimes: python={Python ?? "missing"}{(PythonPrecompiled ? " (bootstrap precompiled)" : "")} node={Node ?? "missing"} bootstraps={RuntimesDirectory}";
    }

    public string? InterpreterFor(RuntimeKind kind) => kind switch
    {
        RuntimeKind.Python => Python,
        RuntimeKind.Node => Node,
        _ => null,
    };

    private static string? FindFirst(params string[] paths) => paths.FirstOrDefault(File.Exists);

    /// <summary>What `bwrap --version` says ("bubblewrap 0.8.0"); 0.0 when it says nothing readable.</summary>
    private static Version BwrapVersion(string bwrap)
    {
        try
        {
            using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(bwrap, "--version") { RedirectStandardOutput = true, UseShellExecute = false })!;
            var text = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit(5000);
            return Version.TryParse(text.Split(' ').LastOrDefault(), out var version) ? version : new Version(0, 0);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return new Version(0, 0);
        }
    }

    private static string? FindExecutable(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
