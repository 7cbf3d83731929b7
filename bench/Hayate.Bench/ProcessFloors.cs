using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Hayate.Bench;

/// <summary>One process floor: a command started cold N times, wall clock from Process.Start to its end.</summary>
internal sealed record ProcessFloor(string Label, Stats Times);

/// <summary>A command to time: one cold start per call, returning milliseconds.</summary>
internal sealed record FloorCommand(string Label, Func<Task<double>> RunOnce);

/// <summary>
/// The floors for a cold start: the language runtime started and stopped with nothing else, bare and
/// inside a bubblewrap sandbox with about the namespaces and mounts a Hayate sandbox has.
/// </summary>
internal sealed class ProcessFloors : IDisposable
{
    public const string Python = "/usr/bin/python3";
    public const string Node = "/usr/bin/node";
    public const string PythonFloor = "bwrap + python3 -c pass";
    public const string NodeFloor = "bwrap + node -e 0";
    public const string BashFloor = "bwrap + bash -c :";

    public static readonly string[] BwrapArguments =
    [
        "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session",
        "--ro-bind", "/usr", "/usr",
        "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
        "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
    ];

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _scratch = Directory.CreateTempSubdirectory("hayate-bench-floors-").FullName;

    public ProcessFloors() => _listener.Start();

    public static string? Bwrap { get; } = new[] { "/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap" }.FirstOrDefault(File.Exists);

    /// <summary>Everything measured, in report order.</summary>
    public IEnumerable<FloorCommand> Commands(string runtimesDirectory)
    {
        yield return Plain("python3 -c pass", [Python, "-c", "pass"]);
        yield return Plain("node -e 0", [Node, "-e", "0"]);
        if (Bwrap is not { } bwrap)
        {
            yield break;
        }

        yield return Plain(PythonFloor, [bwrap, .. BwrapArguments, Python, "-c", "pass"]);
        yield return Plain(NodeFloor, [bwrap, .. BwrapArguments, Node, "-e", "0"]);
        yield return Plain(BashFloor, [bwrap, .. BwrapArguments, "/bin/bash", "-c", ":"]);
        // What Hayate's Launcher does in front of bwrap: bash, which then execs bubblewrap.
        yield return Plain("bash exec bwrap + python3 -c pass", ["/bin/bash", "-c", "exec \"$@\"", "sh", bwrap, .. BwrapArguments, Python, "-c", "pass"]);
        if (!Directory.Exists(runtimesDirectory))
        {
            yield break;
        }

        // Hayate's own runtime bootstraps in bubblewrap (without --unshare-net, so that they reach
        // our listener on the host), code at /var/task, timed from Process.Start to their first
        // GET /2018-06-01/runtime/invocation/next: the init a cold start cannot avoid.
        var pythonCode = Directory.CreateDirectory(Path.Combine(_scratch, "python-code")).FullName;
        File.WriteAllText(Path.Combine(pythonCode, "app.py"), "def handler(e, c):\n    return 1\n");
        var nodeCode = Directory.CreateDirectory(Path.Combine(_scratch, "node-code")).FullName;
        File.WriteAllText(Path.Combine(nodeCode, "index.js"), "exports.handler = async () => 1;\n");
        var shared = BwrapArguments.Where(a => a != "--unshare-net").ToArray();
        string[] Sandbox(string code) => [bwrap, .. shared, "--ro-bind", runtimesDirectory, "/var/runtime", "--ro-bind", code, "/var/task", "--chdir", "/var/task"];
        yield return Bootstrap("bwrap + python3 -u bootstrap.py, to its first GET /next", [.. Sandbox(pythonCode), Python, "-u", "/var/runtime/python/bootstrap.py"], "app.handler");
        yield return Bootstrap("bwrap + node bootstrap.mjs, to its first GET /next", [.. Sandbox(nodeCode), Node, "/var/runtime/node/bootstrap.mjs"], "index.handler");
    }

    private List<FloorCommand> _commands = [];
    private List<double>[] _times = [];

    /// <summary>The commands of <see cref="Commands"/>, each run once untimed (page cache, first-run costs).</summary>
    public async Task<IReadOnlyList<FloorCommand>> PrepareAsync(string runtimesDirectory)
    {
        _commands = Commands(runtimesDirectory).ToList();
        _times = _commands.Select(_ => new List<double>()).ToArray();
        foreach (var command in _commands)
        {
            await command.RunOnce();
        }

        return _commands;
    }

    /// <summary>One timed run of every command, one after another.</summary>
    public async Task RoundAsync()
    {
        for (var i = 0; i < _commands.Count; i++)
        {
            _times[i].Add(await _commands[i].RunOnce());
        }
    }

    public List<ProcessFloor> Results() => _commands.Select((c, i) => new ProcessFloor(c.Label, new Stats(_times[i]))).ToList();

    private static FloorCommand Plain(string label, string[] argv) => new(label, async () =>
    {
        var start = StartInfo(argv);
        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException(argv[0] + " did not start");
        await process.WaitForExitAsync();
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{string.Join(' ', argv)} exited with {process.ExitCode}");
        }

        return elapsed;
    });

    private FloorCommand Bootstrap(string label, string[] argv, string handler) => new(label, async () =>
    {
        var start = StartInfo(argv);
        start.Environment["_HANDLER"] = handler;
        start.Environment["LAMBDA_TASK_ROOT"] = "/var/task";
        start.Environment["LAMBDA_RUNTIME_DIR"] = "/var/runtime";
        start.Environment["AWS_LAMBDA_RUNTIME_API"] = $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        // A connection left from an earlier run (a runtime retrying as it died) must not count.
        while (_listener.Pending())
        {
            _listener.AcceptSocket().Dispose();
        }

        var started = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException(argv[0] + " did not start");
        Socket? connection = null;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            connection = await _listener.AcceptSocketAsync(timeout.Token);
            var head = new StringBuilder();
            var buffer = new byte[4096];
            while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await connection.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (read == 0)
                {
                    break;
                }

                head.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            if (!head.ToString().StartsWith("GET /2018-06-01/runtime/invocation/next", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"{label} did not ask for the next event: {head}");
            }

            return elapsed;
        }
        finally
        {
            // Kill before closing the connection, or the runtime sees EOF and reconnects.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            connection?.Dispose();
        }
    });

    private static ProcessStartInfo StartInfo(string[] argv)
    {
        var start = new ProcessStartInfo(argv[0]) { UseShellExecute = false };
        foreach (var arg in argv.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        // The environment a sandboxed runtime gets, more or less: nothing inherited.
        start.Environment.Clear();
        start.Environment["PATH"] = "/usr/local/bin:/usr/bin/:/bin";
        start.Environment["LANG"] = "en_US.UTF-8";
        start.Environment["TZ"] = ":UTC";
        return start;
    }

    public void Dispose()
    {
        _listener.Dispose();
        try
        {
            Directory.Delete(_scratch, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
