using System.Diagnostics;
using System.Net;
using Hayate.Sandboxes.Networking;

namespace Hayate.Sandboxes.Tests;

/// <summary>The egress rules each sandbox namespace gets: what they let out and what they stop.</summary>
public sealed class EgressPolicyTests
{
    private static readonly IPAddress[] Host = [IPAddress.Parse("192.0.2.2"), IPAddress.Parse("10.5.5.5"), IPAddress.Loopback, IPAddress.Parse("fd00::2")];

    [Fact]
    public void Ruleset_RejectsPrivateLinkLocalAndTheHostsOwnAddresses_AfterTheAllowedRanges()
    {
        var policy = new EgressPolicy(internet: true, [IPNetwork.Parse("10.99.0.1/32"), IPNetwork.Parse("169.254.169.254/32")]);

        var lines = policy.Ruleset(Host).Split('\n').Select(l => l.Trim()).ToList();

        var accept = lines.FindIndex(l => l.StartsWith("ip daddr { 10.99.0.1/32, 169.254.169.254/32 } accept", StringComparison.Ordinal));
        var reject = lines.FindIndex(l => l.StartsWith("ip daddr {", StringComparison.Ordinal) && l.EndsWith("reject with icmpx type admin-prohibited", StringComparison.Ordinal));
        Assert.True(accept >= 0 && reject > accept, string.Join('\n', lines));
        var rejected = lines[reject];
        foreach (var range in new[] { "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "192.0.2.2/32" })
        {
            Assert.Contains(range, rejected, StringComparison.Ordinal);
        }

        // 10.5.5.5 is inside 10.0.0.0/8 already; nft would refuse the overlap.
        Assert.DoesNotContain("10.5.5.5", rejected, StringComparison.Ordinal);
        // The loopback stays open (the Runtime API, the forwarded Hayate API), and DNS to slirp4netns's forwarder only.
        Assert.Contains("oifname \"lo\" accept", lines);
        Assert.Contains("ip daddr 10.0.2.3 udp dport 53 accept", lines);
        Assert.True(lines.IndexOf("ip daddr 10.0.2.3 udp dport 53 accept") < reject);
        Assert.Contains("meta nfproto ipv6 reject with icmpx type admin-prohibited", lines);
    }

    [Fact]
    public void Minimal_DropsRangesThatAnotherCovers_AndKeepsTheFamiliesApart()
    {
        var kept = EgressPolicy.Minimal([
            IPNetwork.Parse("10.1.2.0/24"), IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("10.0.0.0/8"),
            IPNetwork.Parse("192.0.2.2/32"), IPNetwork.Parse("::/0"), IPNetwork.Parse("fd00::/8"),
        ]);

        Assert.Equal(["10.0.0.0/8", "192.0.2.2/32", "::/0"], kept.Select(n => n.ToString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Ruleset_IsAcceptedByNft()
    {
        var nft = File.Exists("/usr/sbin/nft") ? "/usr/sbin/nft" : null;
        var unshare = File.Exists("/usr/bin/unshare") ? "/usr/bin/unshare" : null;
        Assert.SkipWhen(nft is null || unshare is null, "nft (apt-get install nftables) and unshare check the ruleset; CI has both");
        var policy = new EgressPolicy(internet: true, [IPNetwork.Parse("10.99.0.0/16"), IPNetwork.Parse("2001:db8::/32")]);

        // In a network namespace of its own (as root, or in a user namespace of its own), so that nothing of this host changes.
        var start = new ProcessStartInfo(unshare!) { RedirectStandardInput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Environment.UserName != "root")
        {
            start.ArgumentList.Add("--user");
            start.ArgumentList.Add("--map-root-user");
        }

        start.ArgumentList.Add("--net");
        start.ArgumentList.Add(nft!);
        start.ArgumentList.Add("-f");
        start.ArgumentList.Add("-");

        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(policy.Ruleset(Host));
        process.StandardInput.Close();
        var said = await process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.True(process.ExitCode == 0, $"nft refused the ruleset: {said}");
    }
}
