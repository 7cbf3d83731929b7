using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Hayate.Sandboxes.Isolation;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Hayate.Sandboxes.Networking;

/// <summary>
/// One sandbox's network namespace, made by the server (as root) before the sandbox that takes it:
/// its loopback up with the Runtime API (127.0.0.1:9001) and the forwarded Hayate API
/// (127.0.0.1:9002) listening, the egress rules loaded, and, when outbound network is on, a
/// slirp4netns process giving it a way out (10.0.2.100, gateway 10.0.2.2, DNS 10.0.2.3). The
/// namespace belongs to the host's user namespace, so nothing in the sandbox can change it.
/// Used by one sandbox, then thrown away.
/// </summary>
internal sealed class SandboxNetwork : IDisposable
{
    public const int RuntimeApiPort = 9001;
    public const int ApiPort = 9002;

    private Process? _slirp;
    private int _exitWrite = -1;
    private ApiForwarder? _forwarder;
    private int _disposed;

    private SandboxNetwork(SafeFileHandle ns, Socket runtimeApi, Socket api)
    {
        Namespace = ns;
        RuntimeApi = runtimeApi;
        Api = api;
    }

    /// <summary>The namespace (an open /proc/…/ns/net); the sandbox's first process is started inside it.</summary>
    public SafeFileHandle Namespace { get; }

    /// <summary>Listening at 127.0.0.1:9001 inside.</summary>
    public Socket RuntimeApi { get; }

    /// <summary>Listening at 127.0.0.1:9002 inside; connections are forwarded to Hayate's API.</summary>
    public Socket Api { get; }

    /// <summary>True when slirp4netns gives the namespace a way out.</summary>
    public bool Outbound => _slirp is not null;

    /// <summary>
    /// Makes the namespace, with <paramref name="ruleset"/> (nft syntax; null for none) loaded before
    /// it has any interface but its loopback. Runs on a thread of its own, which unshares its network
    /// namespace and ends; the namespace lives on in the handle and the sockets.
    /// </summary>
    public static SandboxNetwork Create(string? ruleset)
    {
        SandboxNetwork? made = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            SafeFileHandle? ns = null;
            Socket? runtimeApi = null;
            Socket? api = null;
            try
            {
                if (Native.unshare(Native.CLONE_NEWNET) != 0)
                {
                    throw new IOException($"unshare(CLONE_NEWNET) failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
                }

                ns = File.OpenHandle("/proc/thread-self/ns/net");
                Native.LoopbackUp();
                if (ruleset is not null)
                {
                    Nftables.Load(ruleset);
                }

                runtimeApi = Listen(RuntimeApiPort);
                api = Listen(ApiPort);
                made = new SandboxNetwork(ns, runtimeApi, api);
            }
            catch (Exception ex)
            {
                failure = ex;
                api?.Dispose();
                runtimeApi?.Dispose();
                ns?.Dispose();
            }
        })
        {
            IsBackground = true,
            Name = "hayate-netns",
        };
        thread.Start();
        thread.Join();
        return made ?? throw new IOException($"cannot make a sandbox network namespace: {failure?.Message}", failure);
    }

    private static Socket Listen(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(64);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Gives the namespace its way out: starts slirp4netns on it and waits until the interface is
    /// configured. slirp4netns runs in a mount namespace of its own with every capability dropped
    /// (--enable-sandbox) and a seccomp filter, never reaches the host's loopback, and exits when
    /// this network is disposed or the server dies (--exit-fd).
    /// </summary>
    public async Task ConnectAsync(string slirp4netns, TimeSpan timeout)
    {
        int readyRead = -1, readyWrite = -1, exitRead = -1;
        var nsFd = (int)Namespace.DangerousGetHandle();
        var said = new BoundedLines(8);
        try
        {
            (readyRead, readyWrite) = Native.Pipe();
            (exitRead, _exitWrite) = Native.Pipe();
            var start = new ProcessStartInfo(slirp4netns)
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var arg in new[]
            {
                "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-sandbox", "--enable-seccomp",
                $"--ready-fd={readyWrite}", $"--exit-fd={exitRead}",
                "--netns-type=path", $"/proc/self/fd/{nsFd}", "tap0",
            })
            {
                start.ArgumentList.Add(arg.ToString(CultureInfo.InvariantCulture));
            }

            var (ready, exit) = (readyWrite, exitRead);
            _slirp = await SpawnThread.StartAsync(() =>
            {
                int[] inherited = [nsFd, ready, exit];
                foreach (var fd in inherited)
                {
                    Native.SetInheritable(fd, true);
                }

                try
                {
                    return Process.Start(start) ?? throw new IOException($"{slirp4netns} did not start");
                }
                finally
                {
                    foreach (var fd in inherited)
                    {
                        Native.SetInheritable(fd, false);
                    }
                }
            });
            _slirp.OutputDataReceived += (_, e) => said.Add(e.Data);
            _slirp.ErrorDataReceived += (_, e) => said.Add(e.Data);
            _slirp.BeginOutputReadLine();
            _slirp.BeginErrorReadLine();
            Close(ref readyWrite);
            Close(ref exitRead);

            // One byte when the interface is up; end of file if slirp4netns exits first.
            var fd = readyRead;
            readyRead = -1;
            await using var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, 1, isAsync: false);
            var buffer = new byte[1];
            var read = Task.Run(() => stream.Read(buffer, 0, 1));
            if (await Task.WhenAny(read, Task.Delay(timeout)) != read)
            {
                throw new IOException($"slirp4netns was not ready after {timeout.TotalSeconds:0.#} s");
            }

            if (await read != 1)
            {
                await _slirp.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                throw new IOException($"slirp4netns exited before the sandbox's network was up: {said}");
            }
        }
        catch
        {
            StopSlirp();
            throw;
        }
        finally
        {
            Close(ref readyRead);
            Close(ref readyWrite);
            Close(ref exitRead);
        }
    }

    /// <summary>Starts carrying connections to 127.0.0.1:9002 inside to Hayate's API.</summary>
    public void ForwardApi(ApiEndpoint endpoint, ILogger logger, string sandboxId) =>
        _forwarder ??= new ApiForwarder(Api, endpoint, logger, sandboxId);

    private void StopSlirp()
    {
        // Closing the exit descriptor asks slirp4netns to exit; the kill makes sure.
        Close(ref _exitWrite);
        if (_slirp is { } slirp)
        {
            try
            {
                slirp.Kill();
            }
            catch (InvalidOperationException)
            {
            }

            slirp.Dispose();
            _slirp = null;
        }
    }

    private static void Close(ref int fd)
    {
        if (fd >= 0)
        {
            Native.close(fd);
            fd = -1;
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _forwarder?.Dispose();
        StopSlirp();
        Api.Dispose();
        RuntimeApi.Dispose();
        Namespace.Dispose();
    }

    /// <summary>The last few lines a process said, for an error message.</summary>
    private sealed class BoundedLines(int capacity)
    {
        private readonly Queue<string> _lines = new();

        public void Add(string? line)
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                return;
            }

            lock (_lines)
            {
                _lines.Enqueue(line.Trim());
                while (_lines.Count > capacity)
                {
                    _lines.Dequeue();
                }
            }
        }

        public override string ToString()
        {
            lock (_lines)
            {
                return _lines.Count == 0 ? "(it said nothing)" : string.Join("; ", _lines);
            }
        }
    }
}
