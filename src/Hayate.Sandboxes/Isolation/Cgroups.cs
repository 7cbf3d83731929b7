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

    /// <summary>Finds the layout and prepares the parent cgroups; never throws, says what is wrong instead.</summary>
    public static Cgroups Detect(string parentName) => Detect(parentName, DefaultRoot);

    /// <summary>Detects under another mount point (tests lay out a v1, v2 or hybrid tree in a directory).</summary>
    public static Cgroups Detect(string parentName, string root)
    {
        try
        {
            if (File.Exists(Path.Combine(root, "cgroup.controllers")))
            {
                var parent = Path.Combine(root, parentName);
                Directory.CreateDirectory(parent);
                var available = File.ReadAllText(Path.Combine(root, "cgroup.controllers"));
                var wanted = Controllers.Where(c => available.Contains(c, StringComparison.Ordinal)).ToArray();
                if (!wanted.Contains("memory"))
                {
                    return Off(CgroupLayout.V2, "the memory controller is not available in the cgroup v2 hierarchy");
                }

                foreach (var controller in wanted)
                {
                    File.WriteAllText(Path.Combine(root, "cgroup.subtree_control"), "+" + controller);
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
            var memory = Path.Combine(memoryRoot, parentName);
            Directory.CreateDirectory(memory);
            string? pids = null;
            if (File.Exists(Path.Combine(pidsRoot, "cgroup.procs")))
            {
                pids = Path.Combine(pidsRoot, parentName);
                Directory.CreateDirectory(pids);
            }

            string? cpu = null;
            var cpuRoot = Directory.Exists(Path.Combine(root, "cpu")) ? Path.Combine(root, "cpu") : Path.Combine(root, "cpu,cpuacct");
            if (File.Exists(Path.Combine(cpuRoot, "cpu.shares")))
            {
                cpu = Path.Combine(cpuRoot, parentName);
                Directory.CreateDirectory(cpu);
            }

            RemoveStale(memory, pids, cpu);
            Probe(memory, pids, cpu);
            return new Cgroups(layout, memory, pids, cpu, null, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Off(CgroupLayout.None, $"cannot create cgroups ({ex.Message}); run as root to enforce memory and process limits");
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

    /// <summary>Creates the sandbox's cgroup with its limits. Null when cgroups are off.</summary>
    public SandboxCgroup? Create(string name, int memoryMb, int maxPids)
    {
        if (!Enabled)
        {
            return null;
        }

        var bytes = ((long)memoryMb * 1024 * 1024).ToString(CultureInfo.InvariantCulture);
        // Lambda gives one vCPU per 1,769 MB; the weight keeps that proportion under contention.
        var shares = Math.Max(2, memoryMb * 1024 / 1769);
        if (_unified is not null)
        {
            var dir = Path.Combine(_unified, name);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "memory.max"), bytes);
            TryWrite(Path.Combine(dir, "memory.swap.max"), "0");
            TryWrite(Path.Combine(dir, "pids.max"), maxPids.ToString(CultureInfo.InvariantCulture));
            TryWrite(Path.Combine(dir, "cpu.weight"), Math.Clamp(shares * 100 / 1024, 1, 10000).ToString(CultureInfo.InvariantCulture));
            return new SandboxCgroup([dir], dir, CgroupLayout.V2);
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

        return new SandboxCgroup(dirs, memory, CgroupLayout.V1);
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
public sealed class SandboxCgroup(IReadOnlyList<string> directories, string memoryDirectory, CgroupLayout layout)
{
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
