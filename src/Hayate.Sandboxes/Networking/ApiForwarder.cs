using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Hayate.Sandboxes.Networking;

/// <summary>
/// Carries the connections a sandbox opens to 127.0.0.1:9002 in its own namespace to Hayate's API
/// on the host, byte for byte, at most <see cref="MaxConnections"/> at a time (a function that opens
/// thousands costs the server no more than that many descriptors).
/// </summary>
internal sealed partial class ApiForwarder : IDisposable
{
    public const int MaxConnections = 64;
    private const int BufferSize = 16 * 1024;
    private readonly Socket _listener;
    private readonly ApiEndpoint _endpoint;
    private readonly ILogger _logger;
    private readonly string _sandboxId;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Socket, byte> _open = new();
    private int _disposed;

    public ApiForwarder(Socket listener, ApiEndpoint endpoint, ILogger logger, string sandboxId)
    {
        _listener = listener;
        _endpoint = endpoint;
        _logger = logger;
        _sandboxId = sandboxId;
        _ = AcceptAsync();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            if (_open.Count >= MaxConnections * 2 || _endpoint.Address is null)
            {
                // Each forwarded connection is two sockets here.
                LogRefused(_logger, _sandboxId, _open.Count);
                client.Dispose();
                continue;
            }

            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        var target = _endpoint.Address!;
        var upstream = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        _open[client] = 0;
        _open[upstream] = 0;
        try
        {
            await upstream.ConnectAsync(target, _stopping.Token);
            await Task.WhenAll(PumpAsync(client, upstream), PumpAsync(upstream, client));
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            LogEnded(_logger, _sandboxId, ex.Message);
        }
        finally
        {
            _open.TryRemove(client, out _);
            _open.TryRemove(upstream, out _);
            client.Dispose();
            upstream.Dispose();
        }
    }

    /// <summary>Copies one direction until its end, then ends the other side's sending half.</summary>
    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer.AsMemory(0, BufferSize), SocketFlags.None, _stopping.Token);
                if (read == 0)
                {
                    break;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stopping.Token);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The other direction sees the sockets closed.
            from.Dispose();
            to.Dispose();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        foreach (var socket in _open.Keys)
        {
            socket.Dispose();
        }
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Debug, Message = "sandbox {SandboxId}: API connection refused ({Open} sockets open, or the server is not listening yet)")]
    private static partial void LogRefused(ILogger logger, string sandboxId, int open);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Debug, Message = "sandbox {SandboxId}: API connection ended: {Reason}")]
    private static partial void LogEnded(ILogger logger, string sandboxId, string reason);
}
