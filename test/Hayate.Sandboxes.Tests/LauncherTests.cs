using Hayate.Sandboxes.Isolation;
using Hayate.Sandboxes.Networking;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hayate.Sandboxes.Tests;

[CollectionDefinition(nameof(DescriptorCounting), DisableParallelization = true)]
public sealed class DescriptorCounting;

/// <summary>What the launcher leaves behind when a start fails, and what it tells the runtime.</summary>
[Collection(nameof(DescriptorCounting))]
public sealed class LauncherTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("launcher-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task LaunchAsync_CgroupCannotBeMade_FailsAndLeavesNoDescriptorOpen()
    {
        // A v2 tree where each sandbox's cgroup directory is blocked by a file of that name.
        var cgroupfs = Path.Combine(_root, "cgroupfs");
        Directory.CreateDirectory(cgroupfs);
        await File.WriteAllTextAsync(Path.Combine(cgroupfs, "cgroup.controllers"), "cpu memory pids", TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(Path.Combine(cgroupfs, "cgroup.subtree_control"), "", TestContext.Current.CancellationToken);
        var cgroups = Cgroups.Detect("hayate", cgroupfs);
        Assert.True(cgroups.Enabled, cgroups.Problem);
        var options = new SandboxOptions { Isolation = "process" };
        var launcher = new Launcher(HostCapabilities.Detect(options).WithCgroups(cgroups), options, networks: null, new ApiEndpoint(), NullLogger.Instance);
        var spec = Spec();
        for (var i = 0; i < 3; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(cgroupfs, "hayate", "sbx-warm" + i), "", TestContext.Current.CancellationToken);
            await Assert.ThrowsAnyAsync<Exception>(() => launcher.LaunchAsync(spec, "warm" + i, "stream", false, CancellationToken.None));
        }

        var before = OpenDescriptors();
        for (var i = 0; i < 25; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(cgroupfs, "hayate", "sbx-leak" + i), "", TestContext.Current.CancellationToken);
            await Assert.ThrowsAnyAsync<Exception>(() => launcher.LaunchAsync(spec, "leak" + i, "stream", false, CancellationToken.None));
        }

        Assert.True(OpenDescriptors() <= before + 2, $"{OpenDescriptors() - before} descriptors more after 25 failed starts");
    }

    [Theory]
    [InlineData("nodejs22.x", "/opt/nodejs/node22/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task")]
    [InlineData("nodejs18.x", "/opt/nodejs/node18/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task")]
    [InlineData("nodejs", "/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task")]
    public void NodePath_LooksInTheLayerFolderOfTheRuntimesMajorVersionFirst(string runtime, string expected) =>
        Assert.Equal(expected, Launcher.NodePath(runtime));

    private static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;

    private SandboxSpec Spec()
    {
        var code = Path.Combine(_root, "code");
        Directory.CreateDirectory(code);
        File.WriteAllText(Path.Combine(code, "bootstrap"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(code, "bootstrap"), (UnixFileMode)0x1ED);
        return new SandboxSpec
        {
            Identity = "leak",
            FunctionName = "leak",
            FunctionArn = "arn:aws:lambda:us-east-1:000000000000:function:leak",
            Version = "$LATEST",
            Runtime = "provided.al2023",
            Kind = RuntimeKind.Provided,
            Handler = "x",
            CodeDirectory = code,
            MemorySize = 128,
            Timeout = 3,
            EphemeralStorageSize = 512,
            Environment = new Dictionary<string, string>(),
            Region = "us-east-1",
        };
    }
}
