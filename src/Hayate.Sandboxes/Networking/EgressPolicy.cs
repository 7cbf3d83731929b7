using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text;

namespace Hayate.Sandboxes.Networking;

/// <summary>
/// Where a sandbox may connect: the internet, as from Lambda, but not this host (its loopback, its
/// own addresses), link-local (the metadata address 169.254.169.254), other sandboxes or private
/// and reserved ranges, unless the server allows a range (--egress-allow). Enforced by an nftables
/// ruleset inside each sandbox's network namespace, which the sandbox cannot change: the
/// namespace belongs to the host's user namespace, where the sandbox has no capability.
/// </summary>
public sealed class EgressPolicy
{
    /// <summary>The sandbox side of slirp4netns's network: the gateway (this host) is .2, the DNS forwarder .3.</summary>
    public const string Network = "10.0.2.0/24";
    public const string Dns = "10.0.2.3";

    /// <summary>Never reached from a sandbox unless allowed: private, shared, loopback, link-local, reserved, multicast.</summary>
    public static readonly IReadOnlyList<IPNetwork> Denied =
    [
        IPNetwork.Parse("0.0.0.0/8"),
        IPNetwork.Parse("10.0.0.0/8"),
        IPNetwork.Parse("100.64.0.0/10"),
        IPNetwork.Parse("127.0.0.0/8"),
        IPNetwork.Parse("169.254.0.0/16"),
        IPNetwork.Parse("172.16.0.0/12"),
        IPNetwork.Parse("192.0.0.0/24"),
        IPNetwork.Parse("192.168.0.0/16"),
        IPNetwork.Parse("198.18.0.0/15"),
        IPNetwork.Parse("224.0.0.0/4"),
        IPNetwork.Parse("240.0.0.0/4"),
    ];

    public EgressPolicy(bool internet, IEnumerable<IPNetwork> allowed)
    {
        Internet = internet;
        Allowed = Minimal(allowed);
    }

    /// <summary>False with --egress none: a sandbox has its loopback and nothing else.</summary>
    public bool Internet { get; }

    /// <summary>Ranges the server allows although they are denied by default (--egress-allow).</summary>
    public IReadOnlyList<IPNetwork> Allowed { get; }

    /// <summary>A range as --egress-allow takes it: CIDR (10.1.0.0/16), or one address (10.1.2.3, meaning /32).</summary>
    public static bool TryParseRange(string text, out IPNetwork range)
    {
        if (IPAddress.TryParse(text, out var address) && !text.Contains('/', StringComparison.Ordinal))
        {
            range = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return IPNetwork.TryParse(text, out range);
    }

    /// <summary>The IPv4 addresses this host has now, on every interface: a sandbox must not reach them.</summary>
    public static IEnumerable<IPAddress> HostAddresses()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(i => i.GetIPProperties().UnicastAddresses)
                .Select(a => a.Address)
                .Where(a => a.AddressFamily == AddressFamily.InterNetwork)
                .ToList();
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }

    /// <summary>The nft ruleset for one sandbox's namespace, given this host's addresses.</summary>
    public string Ruleset(IEnumerable<IPAddress> hostAddresses)
    {
        var host = hostAddresses.Where(a => a.AddressFamily == AddressFamily.InterNetwork).Select(a => new IPNetwork(a, 32));
        var denied = Minimal(Denied.Concat(host));
        var text = new StringBuilder();
        text.Append("table inet hayate {\n\tchain egress {\n\t\ttype filter hook output priority filter; policy accept;\n");
        text.Append("\t\toifname \"lo\" accept\n");
        text.Append(CultureInfo.InvariantCulture, $"\t\tip daddr {Dns} udp dport 53 accept\n");
        text.Append(CultureInfo.InvariantCulture, $"\t\tip daddr {Dns} tcp dport 53 accept\n");
        Rule(text, "ip", Allowed.Where(n => n.BaseAddress.AddressFamily == AddressFamily.InterNetwork), "accept");
        Rule(text, "ip6", Allowed.Where(n => n.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6), "accept");
        Rule(text, "ip", denied.Where(n => n.BaseAddress.AddressFamily == AddressFamily.InterNetwork), "reject with icmpx type admin-prohibited");
        // slirp4netns gives the sandbox no IPv6 route; this keeps it so if that ever changes.
        text.Append("\t\tmeta nfproto ipv6 reject with icmpx type admin-prohibited\n");
        text.Append("\t}\n}\n");
        return text.ToString();
    }

    private static void Rule(StringBuilder text, string family, IEnumerable<IPNetwork> networks, string verdict)
    {
        var list = networks.ToList();
        if (list.Count > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"\t\t{family} daddr {{ {string.Join(", ", list.Select(n => n.ToString()))} }} {verdict}\n");
        }
    }

    /// <summary>The same ranges without any that another one covers (nft refuses overlapping elements in some versions).</summary>
    internal static IReadOnlyList<IPNetwork> Minimal(IEnumerable<IPNetwork> networks)
    {
        var all = networks.Distinct().OrderBy(n => n.PrefixLength).ToList();
        var kept = new List<IPNetwork>();
        foreach (var network in all)
        {
            if (!kept.Any(k => k.BaseAddress.AddressFamily == network.BaseAddress.AddressFamily && k.PrefixLength <= network.PrefixLength && k.Contains(network.BaseAddress)))
            {
                kept.Add(network);
            }
        }

        return kept;
    }
}
