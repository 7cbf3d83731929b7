using System.Globalization;

namespace Hayate.Bench;

/// <summary>CPU time (user + system, ms) consumed so far by the benchmark, the server and the server's sandboxes.</summary>
internal readonly record struct CpuSnapshot(double Bench, double Server, double Sandboxes)
{
    /// <summary>
    /// Everything the benchmark, the server and their children used (reaped children included, via
    /// cutime and cstime), to tell the benchmark's own load from other processes' on the machine.
    /// </summary>
    public double Ours { get; init; }

    /// <summary>/proc/stat: CPU time all CPUs spent busy, and busy + idle, since boot.</summary>
    public double MachineBusy { get; init; }

    public double MachineTotal { get; init; }

    /// <summary>The share of the machine's CPU that other processes used between two snapshots, in percent.</summary>
    public static double OthersPercent(CpuSnapshot before, CpuSnapshot after)
    {
        var total = after.MachineTotal - before.MachineTotal;
        var others = (after.MachineBusy - before.MachineBusy) - (after.Ours - before.Ours);
        return total <= 0 ? double.NaN : Math.Clamp(100 * others / total, 0, 100);
    }

    /// <summary>The pids of the runtimes (python3, node, bootstrap…) below the server when the snapshot was taken.</summary>
    public IReadOnlySet<int> Runtimes { get; init; } = new HashSet<int>();

    public static CpuSnapshot operator -(CpuSnapshot a, CpuSnapshot b) => new(a.Bench - b.Bench, a.Server - b.Server, a.Sandboxes - b.Sandboxes);

    public static CpuSnapshot operator +(CpuSnapshot a, CpuSnapshot b) => new(a.Bench + b.Bench, a.Server + b.Server, a.Sandboxes + b.Sandboxes);
}

/// <summary>
/// Reads /proc/PID/stat (utime + stime, all threads) for this process, the server, and every
/// process below the server (bash → bwrap → runtime). Sandboxes that exit between two snapshots
/// are lost, so it is only meaningful over a steady warm run.
/// </summary>
internal static class CpuTime
{
    private static readonly double MsPerTick = 1000.0 / 100; // USER_HZ is 100 on Linux

    public static CpuSnapshot Take(int serverPid)
    {
        var parents = new Dictionary<int, int>();
        var ticks = new Dictionary<int, long>();
        var reaped = new Dictionary<int, long>();
        var names = new Dictionary<int, string>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            if (Read(pid) is { } stat)
            {
                parents[pid] = stat.Parent;
                ticks[pid] = stat.Ticks;
                reaped[pid] = stat.Children;
                names[pid] = stat.Name;
            }
        }

        var sandboxes = 0L;
        var runtimes = new HashSet<int>();
        foreach (var pid in ticks.Keys)
        {
            if (pid != serverPid && DescendsFrom(pid, serverPid, parents))
            {
                sandboxes += ticks[pid];
                if (names[pid] is not ("bwrap" or "bash"))
                {
                    runtimes.Add(pid);
                }
            }
        }

        var self = Environment.ProcessId;
        var ours = ticks.GetValueOrDefault(self) + reaped.GetValueOrDefault(self)
            + ticks.GetValueOrDefault(serverPid) + reaped.GetValueOrDefault(serverPid) + sandboxes;
        foreach (var pid in ticks.Keys)
        {
            // Children of the benchmark still running (process floors).
            if (pid != serverPid && parents[pid] == self)
            {
                ours += ticks[pid];
            }
        }

        var (busy, total) = Machine();
        return new CpuSnapshot(
            ticks.GetValueOrDefault(self) * MsPerTick,
            ticks.GetValueOrDefault(serverPid) * MsPerTick,
            sandboxes * MsPerTick)
        {
            Runtimes = runtimes,
            Ours = ours * MsPerTick,
            MachineBusy = busy * MsPerTick,
            MachineTotal = total * MsPerTick,
        };
    }

    private static (long Busy, long Total) Machine()
    {
        // cpu  user nice system idle iowait irq softirq steal guest guest_nice
        var line = File.ReadLines("/proc/stat").First();
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        var busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f.Length > 7 ? f[7] : 0);
        return (busy, busy + f[3] + f[4]);
    }

    private static bool DescendsFrom(int pid, int ancestor, Dictionary<int, int> parents)
    {
        for (var depth = 0; depth < 64 && parents.TryGetValue(pid, out var parent); depth++)
        {
            if (parent == ancestor)
            {
                return true;
            }

            pid = parent;
        }

        return false;
    }

    private static (int Parent, long Ticks, long Children, string Name)? Read(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }

        // pid (comm) state ppid ... field 14 utime, 15 stime; comm may hold spaces and parentheses.
        var open = text.IndexOf('(', StringComparison.Ordinal);
        var close = text.LastIndexOf(')');
        if (open < 0 || close < open)
        {
            return null;
        }

        var fields = text[(close + 2)..].Split(' ');
        if (fields.Length < 15)
        {
            return null;
        }

        var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        var children = long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
        return (parent, ticks, children, text[(open + 1)..close]);
    }
}
