using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hayate.Sandboxes.Networking;

/// <summary>
/// Network namespaces made ahead of the sandboxes that take them, so that a cold start does not
/// wait for slirp4netns (about 10 ms): a few are kept ready, and each one taken is replaced in the
/// background. Checked once at start: when outbound network cannot be set up on this host (no
/// slirp4netns, no nftables), sandboxes get their loopback only and the server says why.
/// </summary>
public sealed class SandboxNetworks : IHostedService, IAsyncDisposable
{
    /// <summary>How many namespaces are kept ready.</summary>
    public const int Ready = 2;

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);
    private readonly ConcurrentQueue<SandboxNetwork> _ready = new();
    private readonly EgressPolicy _policy;
    private readonly string? _slirp4netns;
    private readonly bool _enabled;
    private readonly ILogger<SandboxNetworks> _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private Task _refill = Task.CompletedTask;
    private string? _outboundProblem;
    private int _disposed;

    /// <param name="slirp4netns">Path of slirp4netns; null when it is not installed.</param>
    /// <param name="enabled">False when sandboxes use the host's network (the server is not root, or runs them as plain processes).</param>
    public SandboxNetworks(EgressPolicy policy, string? slirp4netns, bool enabled, ILogger<SandboxNetworks> logger)
    {
        _policy = policy;
        _slirp4netns = slirp4netns;
        _enabled = enabled;
        _logger = logger;
        _outboundProblem = !policy.Internet || !enabled ? null
            : slirp4netns is null ? "slirp4netns is not installed (apt-get install slirp4netns)"
            : Nftables.Problem;
    }

    /// <summary>True when sandboxes reach the outside world through their own namespace (within the egress rules).</summary>
    public bool Outbound => _enabled && _policy.Internet && _outboundProblem is null;

    /// <summary>Why sandboxes have no outbound network although it was asked for; null when they have it or it is off.</summary>
    public string? OutboundProblem => _outboundProblem;

    public EgressPolicy Policy => _policy;

    /// <summary>A ready namespace, or one made now when none is.</summary>
    internal async Task<SandboxNetwork> TakeAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var network = _ready.TryDequeue(out var ready) ? ready : await MakeAsync();
        Refill();
        return network;
    }

    /// <summary>Makes one namespace: the egress rules first, then the way out.</summary>
    private async Task<SandboxNetwork> MakeAsync()
    {
        var outbound = Outbound;
        // Without outbound network every destination but the loopback is unreachable anyway.
        var ruleset = outbound ? _policy.Ruleset(EgressPolicy.HostAddresses()) : null;
        var network = SandboxNetwork.Create(ruleset);
        if (!outbound)
        {
            return network;
        }

        try
        {
            await network.ConnectAsync(_slirp4netns!, ConnectTimeout);
            return network;
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    private void Refill()
    {
        lock (_gate)
        {
            if (!_refill.IsCompleted || _stopping.IsCancellationRequested)
            {
                return;
            }

            _refill = Task.Run(async () =>
            {
                while (_ready.Count < Ready && !_stopping.IsCancellationRequested)
                {
                    try
                    {
                        _ready.Enqueue(await MakeAsync());
                    }
                    catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
                    {
                        _logger.LogWarning("could not make a sandbox network ahead of time: {Problem}", ex.Message);
                        return;
                    }
                }
            });
        }
    }

    /// <summary>Makes the first namespace now: if outbound network cannot be set up here, says so once and goes without.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_enabled)
        {
            return;
        }

        if (Outbound)
        {
            try
            {
                _ready.Enqueue(await MakeAsync());
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                _outboundProblem = ex.Message;
            }
        }

        if (_outboundProblem is not null)
        {
            _logger.LogWarning("functions have NO outbound network: {Problem}", _outboundProblem);
        }

        Refill();
    }

    /// <summary>One line for the server's start banner.</summary>
    public string Describe()
    {
        if (!_enabled)
        {
            return "network: the host's (sandboxes reach what the server can)";
        }

        var allowed = _policy.Allowed.Count == 0 ? "" : $" (allowed: {string.Join(", ", _policy.Allowed)})";
        var api = $"Hayate's API at http://127.0.0.1:{SandboxNetwork.ApiPort} inside";
        return Outbound
            ? $"network: a namespace per sandbox; outbound through slirp4netns to anywhere but this host, link-local and private ranges{allowed}; {api}"
            : $"network: a namespace per sandbox with its loopback only{(_policy.Internet ? "" : " (--egress none)")}; {api}";
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _refill.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Drain();
    }

    private void Drain()
    {
        while (_ready.TryDequeue(out var network))
        {
            network.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync(CancellationToken.None);
        _stopping.Dispose();
    }
}
