using System.Globalization;

namespace Hayate.Sandboxes.Isolation;

/// <summary>Which cgroup hierarchy the host gives us.</summary>
public enum CgroupLayout
{
    None,
    V1,
    V2,

    /// <summary>v1 controllers with a v2 hierarchy mounted beside them (systemd's hybrid mode).</summary>
    Hybrid,
}

/// <summary>
/// Creates one cgroup per sandbox under a "hayate" parent, on v1, v2 and hybrid hosts alike:
/// memory limit = MemorySize, a pids limit, CPU weight proportional to memory.
/// </summary>
public sealed class Cgroups
{
    private const string DefaultRoot = "/sys/fs/cgroup";
    private static readonly string[] Controllers = ["memory", "pids", "cpu"];
    private readonly string? _memory;
    private readonly string? _pids;
    private readonly string? _cpu;
    private readonly string? _unified;
    private string? _freezer;

    private Cgroups(CgroupLayout layout, string? memory, string? pids, string? cpu, string? unified, string? problem)
    {
        Layout = layout;
        _memory = memory;
        _pids = pids;
        _cpu = cpu;
        _unified = unified;
        Problem = problem;
    }

    public CgroupLayout Layout { get; }

    /// <summary>Why cgroups are not in use, when they are not.</summary>
    public string? Problem { get; }

    public bool Enabled => Problem is null;

    /// <summary>A freezer is there: idle sandboxes can be stopped where they are.</summary>
    public bool CanFreeze => Enabled && (_unified is not null || _freezer is not null);

    /// <summary>Finds the layout and prepares the parent cgroups under the server's own; never throws, says what is wrong instead.</summary>
    public static Cgroups Detect(string parentName) => Detect(parentName, DefaultRoot, File.ReadAllText("/proc/self/cgroup"));

    /// <summary>
    /// Detects under another mount point (tests lay out a v1, v2 or hybrid tree in a directory).
    /// <paramref name="self"/> is what /proc/self/cgroup says: the parents go under the server's
    /// own cgroup in each hierarchy; without it, under the root of each.
    /// </summary>
    public static Cgroups Detect(string parentName, string root, string? self = null)
    {
        var own = OwnPaths(self ?? "");
        try
        {
            if (File.Exists(Path.Combine(root, "cgroup.controllers")))
            {
                var home = Under(root, own.GetValueOrDefault(""));
                var available = File.ReadAllText(Path.Combine(home, "cgroup.controllers"));
                var wanted = Controllers.Where(c => available.Contains(c, StringComparison.Ordinal)).ToArray();
                if (!wanted.Contains("memory"))
                {
                    return Off(CgroupLayout.V2, "the memory controller is not available in the cgroup v2 hierarchy");
                }

                var parent = Path.Combine(home, parentName);
                Directory.CreateDirectory(parent);
                EnableV2(home, wanted);
                foreach (var controller in wanted)
                {
                    File.WriteAllText(Path.Combine(parent, "cgroup.subtree_control"), "+" + controller);
                }

                RemoveStale(parent);
                Probe(parent);
                return new Cgroups(CgroupLayout.V2, null, null, null, parent, null);
            }

            var memoryRoot = Path.Combine(root, "memory");
            var pidsRoot = Path.Combine(root, "pids");
            if (!File.Exists(Path.Combine(memoryRoot, "memory.limit_in_bytes")))
            {
                return Off(CgroupLayout.None, $"no cgroup memory controller is mounted under {root}");
            }

            var layout = Directory.Exists(Path.Combine(root, "unified")) ? CgroupLayout.Hybrid : CgroupLayout.V1;
            var memory = Path.Combine(Under(memoryRoot, own.GetValueOrDefault("memory")), parentName);
            Directory.CreateDirectory(memory);
            string? pids = null;
            if (File.Exists(Path.Combine(pidsRoot, "cgroup.procs")))
            {
                pids = Path.Combine(Under(pidsRoot, own.GetValueOrDefault("pids")), parentName);
                Directory.CreateDirectory(pids);
            }

            string? cpu = null;
            var cpuRoot = Directory.Exists(Path.Combine(root, "cpu")) ? Path.Combine(root, "cpu") : Path.Combine(root, "cpu,cpuacct");
            if (File.Exists(Path.Combine(cpuRoot, "cpu.shares")))
            {
                cpu = Path.Combine(Under(cpuRoot, own.GetValueOrDefault("cpu")), parentName);
                Directory.CreateDirectory(cpu);
            }

            string? freezer = null;
            var freezerRoot = Path.Combine(root, "freezer");
            if (File.Exists(Path.Combine(freezerRoot, "cgroup.procs")))
            {
                freezer = Path.Combine(Under(freezerRoot, own.GetValueOrDefault("freezer")), parentName);
                Directory.CreateDirectory(freezer);
            }

            RemoveStale(memory, pids, cpu, freezer);
            Probe(memory, pids, cpu, freezer);
            return new Cgroups(layout, memory, pids, cpu, null, null) { _freezer = freezer };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Off(CgroupLayout.None, $"cannot create cgroups ({ex.Message}); run as root to enforce memory and process limits");
        }
    }

    /// <summary>Each hierarchy's path of this process (controller name, or "" for v2), from /proc/self/cgroup's lines "N:controllers:/path".</summary>
    private static Dictionary<string, string> OwnPaths(string self)
    {
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in self.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }

            foreach (var controller in parts[1].Split(','))
            {
                paths[controller] = parts[2].Trim();
            }
        }

        return paths;
    }

    private static string Under(string root, string? own) => own is null or "/" or "" ? root : Path.Combine(root, own.TrimStart('/'));

    /// <summary>
    /// Enables the controllers for our children in our own v2 cgroup. A non-root v2 cgroup with
    /// processes in it cannot hand controllers to children, so the server first moves itself into
    /// a leaf of its own (hayate-server) beside the sandboxes' parent.
    /// </summary>
    private static void EnableV2(string home, string[] controllers)
    {
        var control = Path.Combine(home, "cgroup.subtree_control");
        try
        {
            foreach (var controller in controllers)
            {
                File.WriteAllText(control, "+" + controller);
            }
        }
        catch (IOException) when (File.Exists(Path.Combine(home, "cgroup.procs")))
        {
            var leaf = Path.Combine(home, "hayate-server");
            Directory.CreateDirectory(leaf);
            File.WriteAllText(Path.Combine(leaf, "cgroup.procs"), Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            foreach (var controller in controllers)
            {
                File.WriteAllText(control, "+" + controller);
            }
        }
    }

    /// <summary>
    /// Removes sandbox cgroups left by a server that died without cleaning up (kill -9): their
    /// names end in the server's pid, and their processes died with it (--die-with-parent).
    /// </summary>
    private static void RemoveStale(params string?[] parents)
    {
        foreach (var parent in parents)
        {
            if (parent is null || !Directory.Exists(parent))
            {
                continue;
            }

            foreach (var dir in Directory.EnumerateDirectories(parent, "sbx-*"))
            {
                var dash = dir.LastIndexOf('-');
                // Our own pid counts as dead too: nothing of ours exists yet, and in a container a
                // restarted server often gets the pid its killed predecessor had.
                if (int.TryParse(dir.AsSpan(dash + 1), CultureInfo.InvariantCulture, out var pid) &&
                    (pid == Environment.ProcessId || !Directory.Exists($"/proc/{pid}")))
                {
                    try
                    {
                        Directory.Delete(dir);
                    }
                    catch (IOException)
                    {
                        // Still has processes: leave it.
                    }
                }
            }
        }
    }

    /// <summary>
    /// Creates and removes a child cgroup: the parent may exist already (made by an earlier server
    /// run as root) and still not be ours to write in. Throws what creating a sandbox's would.
    /// </summary>
    private static void Probe(params string?[] parents)
    {
        foreach (var parent in parents)
        {
            if (parent is null)
            {
                continue;
            }

            var probe = Path.Combine(parent, $"probe-{Environment.ProcessId}");
            Directory.CreateDirectory(probe);
            Directory.Delete(probe);
        }
    }

    private static Cgroups Off(CgroupLayout layout, string problem) => new(layout, null, null, null, null, problem);

    /// <summary>The host's cores: the most CPU a sandbox's quota gives.</summary>
    public int Cores { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Creates the sandbox's cgroup with its limits. Null when cgroups are off. CPU follows memory
    /// as on Lambda (1,769 MB is one vCPU): as a weight under contention, and with
    /// <paramref name="cpuQuota"/> also as a hard quota (at most the host's cores).
    /// </summary>
    public SandboxCgroup? Create(string name, int memoryMb, int maxPids, bool cpuQuota = false, bool initBoost = false)
    {
        if (!Enabled)
        {
            return null;
        }

        var bytes = ((long)memoryMb * 1024 * 1024).ToString(CultureInfo.InvariantCulture);
        var shares = Math.Max(2, memoryMb * 1024 / 1769);
        // On-demand inits run on at least one full vCPU, as Lambda boosts them; invocations get their share.
        var steady = cpuQuota ? Math.Min(Cores, memoryMb / 1769.0) : (double?)null;
        var initial = steady is { } share && initBoost ? Math.Min(Cores, Math.Max(1, share)) : steady;
        if (_unified is not null)
        {
            var dir = Path.Combine(_unified, name);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "memory.max"), bytes);
            TryWrite(Path.Combine(dir, "memory.swap.max"), "0");
            TryWrite(Path.Combine(dir, "pids.max"), maxPids.ToString(CultureInfo.InvariantCulture));
            TryWrite(Path.Combine(dir, "cpu.weight"), Math.Clamp(shares * 100 / 1024, 1, 10000).ToString(CultureInfo.InvariantCulture));
            var v2 = new SandboxCgroup([dir], dir, CgroupLayout.V2, dir, dir, steady);
            v2.SetCpus(initial);
            return v2;
        }

        var dirs = new List<string>();
        var memory = Path.Combine(_memory!, name);
        Directory.CreateDirectory(memory);
        dirs.Add(memory);
        File.WriteAllText(Path.Combine(memory, "memory.limit_in_bytes"), bytes);
        TryWrite(Path.Combine(memory, "memory.memsw.limit_in_bytes"), bytes);
        if (_pids is not null)
        {
            var pids = Path.Combine(_pids, name);
            Directory.CreateDirectory(pids);
            File.WriteAllText(Path.Combine(pids, "pids.max"), maxPids.ToString(CultureInfo.InvariantCulture));
            dirs.Add(pids);
        }

        if (_cpu is not null)
        {
            var cpu = Path.Combine(_cpu, name);
            Directory.CreateDirectory(cpu);
            TryWrite(Path.Combine(cpu, "cpu.shares"), shares.ToString(CultureInfo.InvariantCulture));
            dirs.Add(cpu);
        }

        string? freezer = null;
        if (_freezer is not null)
        {
            freezer = Path.Combine(_freezer, name);
            Directory.CreateDirectory(freezer);
            dirs.Add(freezer);
        }

        var v1 = new SandboxCgroup(dirs, memory, CgroupLayout.V1, freezer, _cpu is null ? null : Path.Combine(_cpu, name), steady);
        v1.SetCpus(initial);
        return v1;
    }

    private static void TryWrite(string path, string value)
    {
        try
        {
            File.WriteAllText(path, value);
        }
        catch (IOException)
        {
            // Optional knobs (swap accounting, cpu weight) are absent on some kernels.
        }
    }
}

/// <summary>The cgroups of one sandbox: join, read peak memory and OOM kills, remove.</summary>
public sealed class SandboxCgroup(IReadOnlyList<string> directories, string memoryDirectory, CgroupLayout layout, string? freezerDirectory, string? cpuDirectory, double? steadyCpus)
{
    private const int Period = 100_000;

    /// <summary>Sets the CPU quota to <paramref name="cpus"/> cores (null: no quota, weights only).</summary>
    internal void SetCpus(double? cpus)
    {
        if (cpuDirectory is null || cpus is not { } value)
        {
            return;
        }

        var quota = Math.Max(1000, (long)(value * Period)).ToString(CultureInfo.InvariantCulture);
        try
        {
            if (layout == CgroupLayout.V2)
            {
                File.WriteAllText(Path.Combine(cpuDirectory, "cpu.max"), $"{quota} {Period}");
            }
            else
            {
                File.WriteAllText(Path.Combine(cpuDirectory, "cpu.cfs_period_us"), Period.ToString(CultureInfo.InvariantCulture));
                File.WriteAllText(Path.Combine(cpuDirectory, "cpu.cfs_quota_us"), quota);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A kernel without CFS bandwidth control: the weight alone remains.
        }
    }

    /// <summary>Init is over: from now on the sandbox has the CPU its memory buys.</summary>
    public void EndInitBoost() => SetCpus(steadyCpus);

    /// <summary>True when the sandbox can be frozen between invocations.</summary>
    public bool CanFreeze => freezerDirectory is not null;

    /// <summary>Stops every process of the sandbox where it is (cgroup freezer): nothing runs until <see cref="Thaw"/>.</summary>
    public void Freeze() => SetFrozen(true);

    public void Thaw() => SetFrozen(false);

    private void SetFrozen(bool frozen)
    {
        if (freezerDirectory is null)
        {
            return;
        }

        try
        {
            if (layout == CgroupLayout.V2)
            {
                File.WriteAllText(Path.Combine(freezerDirectory, "cgroup.freeze"), frozen ? "1" : "0");
            }
            else
            {
                File.WriteAllText(Path.Combine(freezerDirectory, "freezer.state"), frozen ? "FROZEN" : "THAWED");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone already (the sandbox is being removed): nothing left to freeze or thaw.
        }
    }

    public void Add(int pid)
    {
        var text = pid.ToString(CultureInfo.InvariantCulture);
        foreach (var dir in directories)
        {
            File.WriteAllText(Path.Combine(dir, "cgroup.procs"), text);
        }
    }

    /// <summary>Peak memory of the sandbox since it started, in bytes (0 when the kernel does not tell).</summary>
    public long PeakMemoryBytes()
    {
        var file = layout == CgroupLayout.V2 ? "memory.peak" : "memory.max_usage_in_bytes";
        try
        {
            return long.Parse(File.ReadAllText(Path.Combine(memoryDirectory, file)).Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or FormatException)
        {
            try
            {
                var current = layout == CgroupLayout.V2 ? "memory.current" : "memory.usage_in_bytes";
                return long.Parse(File.ReadAllText(Path.Combine(memoryDirectory, current)).Trim(), CultureInfo.InvariantCulture);
            }
            catch (Exception inner) when (inner is IOException or FormatException)
            {
                return 0;
            }
        }
    }

    /// <summary>How many times the kernel's OOM killer has killed a process of this sandbox.</summary>
    public long OomKills()
    {
        var file = layout == CgroupLayout.V2 ? "memory.events" : "memory.oom_control";
        try
        {
            foreach (var line in File.ReadLines(Path.Combine(memoryDirectory, file)))
            {
                if (line.StartsWith("oom_kill ", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(9), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or FormatException)
        {
        }

        return 0;
    }

    /// <summary>Kills every process left in the cgroup and removes it.</summary>
    public void Destroy()
    {
        // A frozen v1 process takes a SIGKILL only once thawed.
        Thaw();
        foreach (var dir in directories)
        {
            for (var attempt = 0; attempt < 50; attempt++)
            {
                try
                {
                    if (attempt == 0 && layout == CgroupLayout.V2 && File.Exists(Path.Combine(dir, "cgroup.kill")))
                    {
                        File.WriteAllText(Path.Combine(dir, "cgroup.kill"), "1");
                    }
                    else
                    {
                        foreach (var line in File.ReadLines(Path.Combine(dir, "cgroup.procs")))
                        {
                            if (int.TryParse(line, CultureInfo.InvariantCulture, out var pid))
                            {
                                try
                                {
                                    System.Diagnostics.Process.GetProcessById(pid).Kill();
                                }
                                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                                {
                                }
                            }
                        }
                    }

                    Directory.Delete(dir);
                    break;
                }
                catch (IOException)
                {
                    // Busy until the last process has exited.
                    Thread.Sleep(10);
                }
                catch (UnauthorizedAccessException)
                {
                    break;
                }
            }
        }
    }
}
