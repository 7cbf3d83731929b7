using System.Diagnostics;
using System.Text;

namespace Hayate.Testing;

/// <summary>A real `hayate serve` child process on a free loopback port with its own data directory.</summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ServerProcess(string dataDirectory, IReadOnlyDictionary<string, string>? environment, int? uid, params string[] extraArgs)
    {
        DataDirectory = dataDirectory;
        var start = new ProcessStartInfo(uid is null ? "dotnet" : "/usr/bin/setpriv")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (uid is not null)
        {
            // The same server as an unprivileged user: no root, so no netns of its own and no cgroups.
            foreach (var arg in new[] { $"--reuid={uid}", $"--regid={uid}", "--clear-groups", "dotnet" })
            {
                start.ArgumentList.Add(arg);
            }
        }

        start.ArgumentList.Add(Paths.HayateDll);
        start.ArgumentList.Add("serve");
        start.ArgumentList.Add("--port");
        start.ArgumentList.Add("0");
        start.ArgumentList.Add("--data");
        start.ArgumentList.Add(dataDirectory);
        foreach (var arg in extraArgs)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _listening.TrySetException(new InvalidOperationException("hayate serve exited before listening:\n" + StandardError));
                _ready.TrySetException(new InvalidOperationException("hayate serve exited before it was ready:\n" + StandardError));
                return;
            }

            lock (_stderr)
            {
                _stderr.AppendLine(e.Data);
            }

            const string marker = "hayate: listening on ";
            if (e.Data.StartsWith(marker, StringComparison.Ordinal))
            {
                _listening.TrySetResult(e.Data[marker.Length..].Trim());
            }
            else if (e.Data.StartsWith("hayate: ready", StringComparison.Ordinal))
            {
                _ready.TrySetResult();
            }
        };
        _process.OutputDataReceived += (_, _) => { };
    }

    public string DataDirectory { get; }

    public string Endpoint { get; private set; } = "";

    public Process Process => _process;

    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    public static Task<ServerProcess> StartAsync(string? dataDirectory = null, params string[] extraArgs) =>
        StartAsync(dataDirectory, null, extraArgs);

    public static Task<ServerProcess> StartAsync(string? dataDirectory, IReadOnlyDictionary<string, string>? environment, params string[] extraArgs) =>
        StartAsync(dataDirectory, environment, null, extraArgs);

    public static async Task<ServerProcess> StartAsync(string? dataDirectory, IReadOnlyDictionary<string, string>? environment, int? uid, params string[] extraArgs)
    {
        var server = new ServerProcess(dataDirectory ?? Paths.NewTempDirectory("hayate-data"), environment, uid, extraArgs);
        server._process.Start();
        server._process.BeginErrorReadLine();
        server._process.BeginOutputReadLine();
        // A server on every address (--host 0.0.0.0) is reached at the loopback.
        server.Endpoint = (await server._listening.Task.WaitAsync(TimeSpan.FromSeconds(60))).Replace("//0.0.0.0:", "//127.0.0.1:", StringComparison.Ordinal);
        await server._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return server;
    }

    /// <summary>SIGKILL, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, as a service manager would; returns the exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    /// <summary>Stops the server as a service manager would (SIGTERM), so sandboxes and cgroups are cleaned up; kills it if that hangs.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                await TerminateAsync(TimeSpan.FromSeconds(15));
            }
            catch (TimeoutException)
            {
            }
        }

        await KillAsync();
        _process.Dispose();
    }
}
