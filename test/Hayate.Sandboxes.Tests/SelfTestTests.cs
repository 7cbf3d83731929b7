using Hayate.Sandboxes.Isolation;
using Hayate.Sandboxes.Networking;
using Microsoft.Extensions.Logging.Abstractions;

namespace Hayate.Sandboxes.Tests;

/// <summary>The check `hayate serve` runs before it opens its port: it must tell a sandbox that holds from one that does not.</summary>
public sealed class SelfTestTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("self-test-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("sysctl-write: refused\nnested-userns: refused\n", "")]
    [InlineData("sysctl-write: allowed\nnested-userns: refused\n", "sysctl-write: allowed")]
    [InlineData("sysctl-write: refused\nnested-userns: untested (no unshare in the sandbox)\n", "nested-userns: untested (no unshare in the sandbox)")]
    [InlineData("bash: bootstrap: cannot execute\n", "sysctl-write: the self-test sandbox did not report (it said: bash: bootstrap: cannot execute)|nested-userns: the self-test sandbox did not report (it said: bash: bootstrap: cannot execute)")]
    public void Problems_EveryAttemptMustSayRefused(string said, string expected) =>
        Assert.Equal(expected, string.Join('|', SandboxSelfTest.Problems(said)));

    [Fact]
    public async Task RunAsync_AsRootWithoutASandbox_FindsBothHoles()
    {
        // A plain process of a root server can write /proc/sys and make user namespaces: exactly what the check must catch.
        Assert.SkipUnless(Environment.UserName == "root", "needs root (CI runs as root)");
        var options = new SandboxOptions { Isolation = "process" };
        var launcher = new Launcher(HostCapabilities.Detect(options), options, networks: null, new ApiEndpoint(), NullLogger.Instance);

        var problems = await SandboxSelfTest.RunAsync(launcher, Path.Combine(_root, "code"), TestContext.Current.CancellationToken);

        Assert.Equal(["sysctl-write: allowed", "nested-userns: allowed"], problems);
    }

    [Fact]
    public async Task RunAsync_InTheBubblewrapSandbox_FindsNone()
    {
        Assert.SkipUnless(Environment.UserName == "root" && File.Exists("/usr/bin/bwrap"), "needs root and bubblewrap (CI has both)");
        var runtimes = Directory.CreateDirectory(Path.Combine(_root, "runtimes")).FullName;
        var options = new SandboxOptions { Isolation = "bwrap", Egress = "none", RuntimesDirectory = runtimes };
        var host = HostCapabilities.Detect(options);
        await using var networks = new SandboxNetworks(new EgressPolicy(internet: false, []), null, host.PrivateNetwork, NullLogger<SandboxNetworks>.Instance);
        var launcher = new Launcher(host, options, networks, new ApiEndpoint(), NullLogger.Instance);
        var code = Path.Combine(_root, "code");
        SandboxMounts.MakeReadable(_root, files: true);

        var problems = await SandboxSelfTest.RunAsync(launcher, code, TestContext.Current.CancellationToken);

        Assert.Empty(problems);
    }
}
