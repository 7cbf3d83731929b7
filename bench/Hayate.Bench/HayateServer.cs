using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Hayate.Bench;

/// <summary>A real `hayate serve --port 0 --data TEMP` child process, as a user would run it.</summary>
internal sealed class HayateServer : IAsyncDisposable
{
    private const string ListeningMarker = "hayate: listening on ";
    private const string ReadyMarker = "hayate: ready";
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private HayateServer(string dll, string root, IReadOnlyDictionary<string, string> environment)
    {
        _root = root;
        DataDirectory = Path.Combine(root, "data");
        WorkingDirectory = Path.Combine(root, "cwd");
        Directory.CreateDirectory(WorkingDirectory);
        Directory.CreateDirectory(DataDirectory);
        // An empty working directory of its own: the ASP.NET host watches its content root (the
        // working directory) for appsettings.json changes, recursively; started in a source tree
        // that someone is building, the server would be woken by every file written there.
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = WorkingDirectory,
        };
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        foreach (var arg in new[] { dll, "serve", "--port", "0", "--data", DataDirectory })
        {
            start.ArgumentList.Add(arg);
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

            if (e.Data.StartsWith(ListeningMarker, StringComparison.Ordinal))
            {
                _listening.TrySetResult(e.Data[ListeningMarker.Length..].Trim());
            }
            else if (e.Data.StartsWith(ReadyMarker, StringComparison.Ordinal))
            {
                _ready.TrySetResult();
            }
        };
        _process.OutputDataReceived += (_, _) => { };
    }

    private readonly string _root;

    public string DataDirectory { get; }

    /// <summary>The server's process id (its sandboxes are its descendants).</summary>
    public int ProcessId => _process.Id;

    public string WorkingDirectory { get; }

    /// <summary>The base address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Endpoint { get; private set; } = null!;

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

    /// <summary>What the server says about itself at start (isolation, cgroups, runtimes).</summary>
    public IEnumerable<string> StartupLines => StandardError
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .TakeWhile(line => !line.StartsWith(ReadyMarker, StringComparison.Ordinal))
        .Where(line => line.StartsWith("hayate: ", StringComparison.Ordinal));

    /// <summary>Warnings and errors the server logged after it was ready (the first few).</summary>
    public IReadOnlyList<string> Problems => StandardError
        .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .SkipWhile(line => !line.StartsWith(ReadyMarker, StringComparison.Ordinal))
        .Where(line => line.Contains(" fail: ", StringComparison.Ordinal) || line.Contains(" crit: ", StringComparison.Ordinal)
            || line.Contains(" warn: ", StringComparison.Ordinal) || line.Contains("exception", StringComparison.OrdinalIgnoreCase))
        .Take(20)
        .ToList();

    public static async Task<HayateServer> StartAsync(string dll, IReadOnlyDictionary<string, string> environment)
    {
        var root = Directory.CreateTempSubdirectory("hayate-bench-").FullName;
        var server = new HayateServer(dll, root, environment);
        server._process.Start();
        server._process.BeginErrorReadLine();
        server._process.BeginOutputReadLine();
        var listening = await server._listening.Task.WaitAsync(TimeSpan.FromSeconds(60));
        server.Endpoint = new Uri(listening.TrimEnd('/') + "/");
        await server._ready.Task.WaitAsync(TimeSpan.FromSeconds(60));
        return server;
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (!_process.HasExited)
        {
            // SIGTERM first, so the server stops its sandboxes and removes their cgroups.
            using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            try
            {
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            }
            catch (TimeoutException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
