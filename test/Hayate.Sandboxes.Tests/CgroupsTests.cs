using Hayate.Sandboxes.Isolation;

namespace Hayate.Sandboxes.Tests;

/// <summary>
/// Layout detection and limits on v1, v2 and hybrid hierarchies. The host running the tests has
/// one layout only, so the others are laid out as directories, which is all cgroupfs is to us.
/// </summary>
public sealed class CgroupsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cgroupfs-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Touch(string relative, string content = "")
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    private string Read(string relative) => File.ReadAllText(Path.Combine(_root, relative));

    private void LayOutV1()
    {
        Touch("memory/memory.limit_in_bytes", "9223372036854771712");
        Touch("pids/cgroup.procs");
        Touch("cpu/cpu.shares", "1024");
    }

    [Fact]
    public void Detect_V1_SetsMemoryPidsAndCpuShares()
    {
        LayOutV1();
        var cgroups = Cgroups.Detect("hayate", _root);
        Assert.True(cgroups.Enabled, cgroups.Problem);
        Assert.Equal(CgroupLayout.V1, cgroups.Layout);

        var sandbox = cgroups.Create("sbx-1", memoryMb: 256, maxPids: 1024)!;
        Assert.Equal((256L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture), Read("memory/hayate/sbx-1/memory.limit_in_bytes"));
        Assert.Equal("1024", Read("pids/hayate/sbx-1/pids.max"));
        // One vCPU per 1,769 MB, as Lambda allocates it.
        Assert.Equal((256 * 1024 / 1769).ToString(System.Globalization.CultureInfo.InvariantCulture), Read("cpu/hayate/sbx-1/cpu.shares"));

        sandbox.Add(4242);
        Assert.Equal("4242", Read("memory/hayate/sbx-1/cgroup.procs"));
        Assert.Equal("4242", Read("pids/hayate/sbx-1/cgroup.procs"));
    }

    [Fact]
    public void Detect_Hybrid_UsesTheV1Controllers()
    {
        LayOutV1();
        Directory.CreateDirectory(Path.Combine(_root, "unified"));
        var cgroups = Cgroups.Detect("hayate", _root);
        Assert.Equal(CgroupLayout.Hybrid, cgroups.Layout);
        cgroups.Create("sbx-2", 128, 64);
        Assert.Equal("64", Read("pids/hayate/sbx-2/pids.max"));
    }

    [Fact]
    public void Detect_V2_EnablesControllersAndWritesV2Limits()
    {
        Touch("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc");
        Touch("cgroup.subtree_control");
        var cgroups = Cgroups.Detect("hayate", _root);
        Assert.True(cgroups.Enabled, cgroups.Problem);
        Assert.Equal(CgroupLayout.V2, cgroups.Layout);
        Assert.StartsWith("+", Read("hayate/cgroup.subtree_control"), StringComparison.Ordinal);

        var sandbox = cgroups.Create("sbx-3", 512, 100)!;
        Assert.Equal((512L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture), Read("hayate/sbx-3/memory.max"));
        Assert.Equal("0", Read("hayate/sbx-3/memory.swap.max"));
        Assert.Equal("100", Read("hayate/sbx-3/pids.max"));

        Touch("hayate/sbx-3/memory.peak", "73400320\n");
        Touch("hayate/sbx-3/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
        Assert.Equal(73400320, sandbox.PeakMemoryBytes());
        Assert.Equal(1, sandbox.OomKills());
    }

    [Fact]
    public void Detect_V1_ReadsPeakAndOomKillsFromV1Files()
    {
        LayOutV1();
        var sandbox = Cgroups.Detect("hayate", _root).Create("sbx-4", 128, 10)!;
        Touch("memory/hayate/sbx-4/memory.max_usage_in_bytes", "1048576\n");
        Touch("memory/hayate/sbx-4/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        Assert.Equal(1048576, sandbox.PeakMemoryBytes());
        Assert.Equal(2, sandbox.OomKills());
    }

    [Fact]
    public void Detect_V2WithoutMemoryController_IsOffWithAReason()
    {
        Touch("cgroup.controllers", "cpu pids");
        var cgroups = Cgroups.Detect("hayate", _root);
        Assert.False(cgroups.Enabled);
        Assert.Contains("memory controller", cgroups.Problem, StringComparison.Ordinal);
        Assert.Null(cgroups.Create("sbx-5", 128, 10));
    }

    [Fact]
    public void Detect_NothingMounted_IsOffWithAReason()
    {
        var cgroups = Cgroups.Detect("hayate", _root);
        Assert.False(cgroups.Enabled);
        Assert.Contains("no cgroup memory controller", cgroups.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Detect_RemovesSandboxCgroupsOfDeadServers()
    {
        LayOutV1();
        Directory.CreateDirectory(Path.Combine(_root, "memory/hayate/sbx-7-999999999"));
        Directory.CreateDirectory(Path.Combine(_root, $"memory/hayate/sbx-8-{Environment.ProcessId}"));
        Directory.CreateDirectory(Path.Combine(_root, "memory/hayate/sbx-9-1"));
        Cgroups.Detect("hayate", _root);
        Assert.False(Directory.Exists(Path.Combine(_root, "memory/hayate/sbx-7-999999999")));
        // A killed predecessor with the pid we have now (common in containers) left this one.
        Assert.False(Directory.Exists(Path.Combine(_root, $"memory/hayate/sbx-8-{Environment.ProcessId}")));
        // Another live server's sandbox stays.
        Assert.True(Directory.Exists(Path.Combine(_root, "memory/hayate/sbx-9-1")));
    }
}
