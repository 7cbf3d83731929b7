using System.Net;

namespace Hayate.Sandboxes.Networking;

/// <summary>
/// Where Hayate's own API (SQS, KMS, Kinesis, Lambda) listens, once the server has started. A
/// sandbox reaches it only through the port forwarded into its namespace (AWS_ENDPOINT_URL), never
/// at this address: the host's loopback is out of its reach.
/// </summary>
public sealed class ApiEndpoint
{
    private volatile IPEndPoint? _address;

    /// <summary>The server's address as seen from this host; null until the server listens.</summary>
    public IPEndPoint? Address
    {
        get => _address;
        set => _address = value is null ? null : Reachable(value);
    }

    /// <summary>A listener on every address (0.0.0.0, ::) is reached at the loopback of its family.</summary>
    private static IPEndPoint Reachable(IPEndPoint address) =>
        address.Address.Equals(IPAddress.Any) ? new IPEndPoint(IPAddress.Loopback, address.Port)
        : address.Address.Equals(IPAddress.IPv6Any) ? new IPEndPoint(IPAddress.IPv6Loopback, address.Port)
        : address;
}
