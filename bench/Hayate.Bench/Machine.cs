using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Hayate.Bench;

/// <summary>What the numbers were measured on.</summary>
internal static class Machine
{
    public static IEnumerable<(string Name, string Value)> Describe()
    {
        yield return ("date", DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture));
        yield return ("nproc", Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return ("cpu", CpuModel());
        yield return ("kernel", Read("/proc/sys/kernel/osrelease") ?? RuntimeInformation.OSDescription);
        yield return ("memory", MemTotal());
        yield return (".NET", RuntimeInformation.FrameworkDescription);
        yield return ("bubblewrap", Version(ProcessFloors.Bwrap ?? "bwrap", "--version"));
        yield return ("python3", Version(ProcessFloors.Python, "--version"));
        yield return ("node", Version(ProcessFloors.Node, "--version"));
    }

    /// <summary>/proc/loadavg's 1, 5 and 15 minute figures: how busy the machine was besides the benchmark.</summary>
    public static string LoadAverage()
    {
        var text = Read("/proc/loadavg");
        return text is null ? "unknown" : string.Join(' ', text.Split(' ').Take(3));
    }

    private static string CpuModel()
    {
        var line = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
            : null;
        return line is null ? "unknown" : line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
    }

    private static string MemTotal()
    {
        var line = File.Exists("/proc/meminfo")
            ? File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
            : null;
        if (line is null || !long.TryParse(line["MemTotal:".Length..].Replace("kB", "", StringComparison.Ordinal).Trim(), out var kb))
        {
            return "unknown";
        }

        return (kb / 1024.0 / 1024.0).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) + " GiB";
    }

    private static string? Read(string path) => File.Exists(path) ? File.ReadAllText(path).Trim() : null;

    private static string Version(string program, string flag)
    {
        try
        {
            var start = new ProcessStartInfo(program, flag) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var process = Process.Start(start)!;
            var text = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            return text.Trim().Split('\n')[0];
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "not installed";
        }
    }
}
