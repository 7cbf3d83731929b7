using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hayate.IntegrationTests;

/// <summary>
/// A stand-in for the internet, on this machine: a network namespace joined to the host by a veth
/// pair, with a web server in it at 198.51.100.2 (TEST-NET-2) answering every address it holds:
/// that one, a private 10.99.0.1 and 10.99.0.2 and a link-local 169.254.99.99, each routed to it
/// from the host. The host's end, 198.51.100.1, becomes one of this host's own addresses, with a
/// listener of the test on it. No traffic leaves the machine.
/// </summary>
public sealed class FakeInternet : IAsyncLifetime
{
    public const string HostEnd = "198.51.100.1";
    public const string Web = "198.51.100.2";
    public const string PrivateAllowed = "10.99.0.1";
    public const string PrivateDenied = "10.99.0.2";
    public const string LinkLocal = "169.254.99.99";
    public const int HostPort = 8081;
    private static readonly string[] Routed = [PrivateAllowed, PrivateDenied, LinkLocal];
    private readonly string _namespace = $"hayate-inet-{Environment.ProcessId}";
    private readonly string _veth = $"hyt{Environment.ProcessId % 100000}";
    private Process? _web;
    private TcpListener? _hostListener;
    private CancellationTokenSource? _stopping;

    /// <summary>Why the fake internet could not be made here (needs root, ip and python3); null when it is up.</summary>
    public string? Problem { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (Environment.UserName != "root" || !File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip"))
        {
            Problem = "the fake internet needs root and iproute2 (CI has both)";
            return;
        }

        try
        {
            await IpAsync("netns", "add", _namespace);
            await IpAsync("link", "add", _veth + "h", "type", "veth", "peer", "name", _veth + "n", "netns", _namespace);
            await IpAsync("addr", "add", HostEnd + "/24", "dev", _veth + "h");
            await IpAsync("link", "set", _veth + "h", "up");
            await IpAsync("-n", _namespace, "addr", "add", Web + "/24", "dev", _veth + "n");
            await IpAsync("-n", _namespace, "link", "set", _veth + "n", "up");
            await IpAsync("-n", _namespace, "link", "set", "lo", "up");
            foreach (var address in Routed)
            {
                await IpAsync("-n", _namespace, "addr", "add", address + "/32", "dev", "lo");
                await IpAsync("route", "add", address + "/32", "via", Web);
            }

            // "The internet": every address in the namespace answers "internet <address it was reached at>".
            var web = new ProcessStartInfo("/usr/sbin/ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "netns", "exec", _namespace, "/usr/bin/python3", "-c", WebServer })
            {
                web.ArgumentList.Add(arg);
            }

            _web = Process.Start(web)!;
            var line = await _web.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
            if (line != "listening")
            {
                throw new InvalidOperationException($"the fake internet's web server did not start: {line} {await _web.StandardError.ReadToEndAsync()}");
            }

            // One of this host's own addresses, with something listening on it.
            _hostListener = new TcpListener(IPAddress.Parse(HostEnd), HostPort);
            _hostListener.Start();
            _stopping = new CancellationTokenSource();
            _ = AnswerAsync(_hostListener, _stopping.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or SocketException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            await DisposeAsync();
            throw;
        }
    }

    private const string WebServer = """
        import http.server, socketserver
        class Answer(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = ('internet ' + self.connection.getsockname()[0]).encode()
                self.send_response(200)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a):
                pass
        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
        s = Server(('0.0.0.0', 80), Answer)
        print('listening', flush=True)
        s.serve_forever()
        """;

    private static async Task AnswerAsync(TcpListener listener, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                using var client = await listener.AcceptTcpClientAsync(stopping);
                await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes("host\n"), stopping);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
            {
                if (stopping.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopping?.Cancel();
        _hostListener?.Stop();
        _hostListener?.Dispose();
        if (_web is { HasExited: false })
        {
            _web.Kill(entireProcessTree: true);
            await _web.WaitForExitAsync();
        }

        _web?.Dispose();
        // The veth pair and the routes over it go with the namespace.
        await IpAsync("netns", "delete", _namespace).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await IpAsync("link", "delete", _veth + "h").ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stopping?.Dispose();
    }

    private static async Task IpAsync(params string[] args)
    {
        var start = new ProcessStartInfo(File.Exists("/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip") { UseShellExecute = false, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var ip = Process.Start(start)!;
        var said = await ip.StandardError.ReadToEndAsync();
        await ip.WaitForExitAsync();
        if (ip.ExitCode != 0)
        {
            throw new InvalidOperationException($"ip {string.Join(' ', args)}: {said.Trim()}");
        }
    }
}
