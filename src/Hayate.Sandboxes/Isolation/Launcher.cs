using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Hayate.Sandboxes.Networking;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Hayate.Sandboxes.Isolation;

/// <summary>A started sandbox process: its output socket, its Runtime API listener, its cgroup, host uid and network namespace.</summary>
internal sealed record LaunchedProcess(Process Process, Socket Output, Socket Listener, SandboxCgroup? Cgroup, LaunchTimings Timings, SandboxUsers.Lease? User, SandboxNetwork? Network);

/// <summary>Where a cold start's time went before the runtime itself ran, in milliseconds.</summary>
public readonly record struct LaunchTimings(double Spawn, double Namespaces, double Setup);

/// <summary>
/// Starts one sandbox. The .NET process never forks or unshares itself: it starts bash with
/// Process.Start (vfork), bash wires the inherited descriptors and execs bubblewrap, bubblewrap builds
/// the namespaces, reports the child's pid on --info-fd and waits on --block-fd while we put the
/// child in its cgroup. As root, bash starts inside a network namespace made ahead of time
/// (<see cref="SandboxNetworks"/>), with the Runtime API already listening at 127.0.0.1:9001.
/// </summary>
internal sealed class Launcher(HostCapabilities host, SandboxOptions options, SandboxNetworks? networks, ApiEndpoint endpoint, ILogger logger)
{
    /// <summary>The forwarded Hayate API inside a sandbox's own namespace.</summary>
    private static readonly string ForwardedApi = $"http://127.0.0.1:{SandboxNetwork.ApiPort}";

    /// <summary>The server's own network namespace, where the spawning thread returns after each start.</summary>
    private static readonly Lazy<SafeFileHandle> HostNamespace = new(() => File.OpenHandle("/proc/self/ns/net"));

    public async Task<LaunchedProcess> LaunchAsync(SandboxSpec spec, string sandboxId, string logStream, bool provisioned, CancellationToken cancellationToken)
    {
        var began = Stopwatch.GetTimestamp();
        var command = Command(spec);
        // Every descriptor and resource is made inside the try, so that a failure at any step
        // (a cgroup that cannot be made, a listener that cannot bind) closes what came before it.
        int outputTheirs = -1, blockRead = -1, blockWrite = -1, infoRead = -1, infoWrite = -1, argsRead = -1, seccompRead = -1;
        SandboxUsers.Lease? user = null;
        Socket? output = null;
        SandboxCgroup? cgroup = null;
        SandboxNetwork? network = null;
        Socket? listener = null;
        Process? process = null;
        try
        {
            (var outputOurs, outputTheirs) = Native.SocketPair();
            output = new Socket(new SafeSocketHandle(outputOurs, ownsHandle: true));
            (blockRead, blockWrite) = Native.Pipe();
            if (host.Bwrap is not null)
            {
                (infoRead, infoWrite) = Native.Pipe();
                if (host.Seccomp is { } filter)
                {
                    seccompRead = Native.PipeHolding(filter);
                }

                user = host.Users?.Take();
            }

            cgroup = host.Cgroups.Create("sbx-" + sandboxId, spec.MemorySize, options.MaxProcesses, cpuQuota: options.Cpu == "quota", initBoost: !provisioned);
            if (host.PrivateNetwork)
            {
                network = await (networks ?? throw new InvalidOperationException("sandbox networks are not set up")).TakeAsync(cancellationToken);
                listener = network.RuntimeApi;
            }
            else
            {
                listener = ListenOnHost();
            }

            var runtimeApi = $"127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}";

            var start = new ProcessStartInfo("/bin/bash") { UseShellExecute = false };
            start.Environment.Clear();
            foreach (var (key, value) in Environment(spec, runtimeApi, ApiUrl(), logStream, provisioned))
            {
                start.Environment[key] = value;
            }

            if (host.Bwrap is null)
            {
                start.WorkingDirectory = spec.CodeDirectory;
            }

            // bash -c SCRIPT sh ARGV…: stdin from /dev/null, stdout and stderr into our socket, then exec.
            // As root: at most MaxProcesses tasks for the sandbox's own uid, then setpriv switches to
            // it (no_new_privs, no groups) and bubblewrap runs as that user. bubblewrap's options
            // come through a pipe (--args), so /proc/1/cmdline inside shows no host path.
            var wait = host.Bwrap is null ? $"read _ <&{blockRead}; " : "";
            var limit = user is null ? "" : $"ulimit -u {options.MaxProcesses.ToString(CultureInfo.InvariantCulture)}; ";
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"{wait}{limit}exec \"$@\" </dev/null >&{outputTheirs} 2>&{outputTheirs} {outputTheirs}>&-" + (host.Bwrap is null ? $" {blockRead}<&-" : ""));
            start.ArgumentList.Add("sh");
            if (host.Bwrap is not null)
            {
                if (user is not null)
                {
                    var uid = user.Uid.ToString(CultureInfo.InvariantCulture);
                    foreach (var arg in new[] { host.Setpriv!, $"--reuid={uid}", $"--regid={uid}", "--clear-groups", "--no-new-privs", "--" })
                    {
                        start.ArgumentList.Add(arg);
                    }
                }

                argsRead = Native.PipeHolding(Encoding.UTF8.GetBytes(string.Concat(BwrapOptions(spec, infoWrite, blockRead, seccompRead).Select(a => a + "\0"))));
                start.ArgumentList.Add(host.Bwrap);
                start.ArgumentList.Add("--args");
                start.ArgumentList.Add(argsRead.ToString(CultureInfo.InvariantCulture));
            }

            foreach (var arg in command)
            {
                start.ArgumentList.Add(arg);
            }

            process = await SpawnThread.StartAsync(() =>
            {
                // Only the descriptors the child needs are inheritable, and only while it is being started.
                foreach (var fd in new[] { outputTheirs, blockRead, infoWrite, argsRead, seccompRead })
                {
                    if (fd >= 0)
                    {
                        Native.SetInheritable(fd, true);
                    }
                }

                // The child starts in the sandbox's network namespace: this thread enters it for the
                // moment of the fork and comes back.
                if (network is not null && Native.setns((int)network.Namespace.DangerousGetHandle(), Native.CLONE_NEWNET) != 0)
                {
                    CloseChildEnds();
                    throw new IOException($"setns into the sandbox's network namespace failed: errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}");
                }

                try
                {
                    return Process.Start(start) ?? throw new InvalidOperationException("/bin/bash did not start");
                }
                finally
                {
                    // The child has its copies; ours go now, whether it started or not.
                    CloseChildEnds();
                    if (network is not null && Native.setns((int)HostNamespace.Value.DangerousGetHandle(), Native.CLONE_NEWNET) != 0)
                    {
                        // Every later sandbox and slirp4netns would start in this one's namespace.
                        System.Environment.FailFast("the spawning thread could not return to the server's network namespace");
                    }
                }
            });

            var spawned = Stopwatch.GetTimestamp();
            int childPid;
            if (host.Bwrap is not null)
            {
                // ReadChildPidAsync takes the descriptor over (and closes it).
                var info = infoRead;
                infoRead = -1;
                childPid = await ReadChildPidAsync(info, cancellationToken);
            }
            else
            {
                childPid = process.Id;
            }

            var namespaces = Stopwatch.GetTimestamp();
            cgroup?.Add(childPid);
            ReadOnlySpan<byte> go = "\n"u8;
            Native.write(blockWrite, go, go.Length);
            var timings = new LaunchTimings(
                Stopwatch.GetElapsedTime(began, spawned).TotalMilliseconds,
                Stopwatch.GetElapsedTime(spawned, namespaces).TotalMilliseconds,
                Stopwatch.GetElapsedTime(namespaces).TotalMilliseconds);
            network?.ForwardApi(endpoint, logger, sandboxId);
            return new LaunchedProcess(process, output, listener, cgroup, timings, user, network);
        }
        catch (Exception failure) when (process is not null && failure is SandboxStartException or IOException)
        {
            // bubblewrap reports the child before it sets up the mounts: when one fails the child is
            // gone by the time we enter its namespace or cgroup. Either way, say what it said.
            var ex = failure as SandboxStartException ?? new SandboxStartException("Runtime.Unknown", "the sandbox exited while it was being set up");
            // bubblewrap says why it failed on its stderr, which is our output socket.
            await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            var said = ReadAvailable(output!).Trim();
            Cleanup();
            throw said.Length == 0 ? ex : new SandboxStartException(ex.ErrorType, $"{ex.Message}: {said}");
        }
        catch
        {
            Cleanup();
            throw;
        }
        finally
        {
            CloseChildEnds();
            Close(ref blockWrite);
            Close(ref infoRead);
        }

        void CloseChildEnds()
        {
            Close(ref outputTheirs);
            Close(ref blockRead);
            Close(ref infoWrite);
            Close(ref argsRead);
            Close(ref seccompRead);
        }

        void Cleanup()
        {
            try
            {
                process?.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            process?.Dispose();
            output?.Dispose();
            listener?.Dispose();
            network?.Dispose();
            cgroup?.Destroy();
            user?.Dispose();
        }
    }

    /// <summary>Closes a descriptor once: -1 means not open (any more).</summary>
    private static void Close(ref int fd)
    {
        if (fd >= 0)
        {
            Native.close(fd);
            fd = -1;
        }
    }

    private static string ReadAvailable(Socket socket)
    {
        try
        {
            var available = Math.Min(socket.Available, 4096);
            if (available <= 0)
            {
                return "";
            }

            var buffer = new byte[available];
            var read = socket.Receive(buffer);
            return Encoding.UTF8.GetString(buffer, 0, read);
        }
        catch (SocketException)
        {
            return "";
        }
    }

    /// <summary>The runtime's own command line, as seen from inside the sandbox.</summary>
    private List<string> Command(SandboxSpec spec)
    {
        var runtimeDir = host.Bwrap is null ? host.RuntimesDirectory : "/var/runtime";
        var taskRoot = host.Bwrap is null ? spec.CodeDirectory : "/var/task";
        return spec.Kind switch
        {
            RuntimeKind.Python => [host.Python ?? throw new SandboxStartException("Runtime.InvalidRuntime", "python3 is not installed on this host"), "-u", $"{runtimeDir}/python/bootstrap.{(host.PythonPrecompiled ? "pyc" : "py")}"],
            RuntimeKind.Node => [host.Node ?? throw new SandboxStartException("Runtime.InvalidRuntime", "node is not installed on this host"), $"{runtimeDir}/node/bootstrap.mjs"],
            _ => [ProvidedBootstrap(spec, taskRoot, host.Bwrap is null ? spec.OptDirectory : "/opt")],
        };
    }

    /// <summary>A custom runtime's entry point: an executable named bootstrap at the root of the code, else of a layer (/opt).</summary>
    private static string ProvidedBootstrap(SandboxSpec spec, string taskRoot, string? optRoot)
    {
        var (path, shown) = (Path.Combine(spec.CodeDirectory, "bootstrap"), $"{taskRoot}/bootstrap");
        if (!File.Exists(path) && spec.OptDirectory is not null && File.Exists(Path.Combine(spec.OptDirectory, "bootstrap")))
        {
            (path, shown) = (Path.Combine(spec.OptDirectory, "bootstrap"), $"{optRoot}/bootstrap");
        }

        if (!File.Exists(path))
        {
            throw new SandboxStartException("Runtime.InvalidEntrypoint", "Couldn't find valid bootstrap(s): [/var/task/bootstrap /opt/bootstrap]");
        }

        if ((File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0)
        {
            throw new SandboxStartException("Runtime.InvalidEntrypoint", $"fork/exec {shown}: permission denied");
        }

        return shown;
    }

    /// <summary>
    /// bubblewrap's options (everything but the command): the namespaces, a read-only root with
    /// /usr, the code, the layers and the runtime bound read-only, /tmp the one writable place
    /// (a tmpfs of EphemeralStorage), a read-only /dev without /dev/shm, no /sys, no nested user
    /// namespaces, and the seccomp filter.
    /// </summary>
    private List<string> BwrapOptions(SandboxSpec spec, int infoFd, int blockFd, int seccompFd)
    {
        var args = new List<string>
        {
            "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", "993", "--gid", "990", "--hostname", "sandbox",
            "--info-fd", infoFd.ToString(CultureInfo.InvariantCulture),
            "--block-fd", blockFd.ToString(CultureInfo.InvariantCulture),
            "--ro-bind", "/usr", "/usr",
        };
        if (host.DisableUserns)
        {
            args.Add("--disable-userns");
        }

        if (seccompFd >= 0)
        {
            args.AddRange(["--seccomp", seccompFd.ToString(CultureInfo.InvariantCulture)]);
        }

        foreach (var top in new[] { "bin", "sbin", "lib", "lib32", "lib64", "libx32" })
        {
            var path = "/" + top;
            var info = new FileInfo(path);
            if (info.LinkTarget is { } target)
            {
                args.AddRange(["--symlink", target, path]);
            }
            else if (Directory.Exists(path))
            {
                args.AddRange(["--ro-bind", path, path]);
            }
        }

        if (File.Exists("/usr/bin/bash"))
        {
            // Lambda's /bin/sh is bash (Amazon Linux); custom runtimes written for it use bash-isms
            // such as `set -o pipefail` under #!/bin/sh, which Debian's dash refuses.
            args.AddRange(["--ro-bind", "/usr/bin/bash", "/usr/bin/sh"]);
        }

        foreach (var etc in EtcFiles)
        {
            args.AddRange(["--ro-bind-try", etc, etc]);
        }

        // Lambda's own accounts, not the host's: the function runs as sbx_user1051 (993). In its
        // own network namespace, the resolver is slirp4netns's DNS forwarder and the host's names are not its.
        foreach (var etc in host.PrivateNetwork ? ["passwd", "group", "resolv.conf", "hosts"] : new[] { "passwd", "group" })
        {
            args.AddRange(["--ro-bind-try", Path.Combine(host.RuntimesDirectory, "etc", etc), "/etc/" + etc]);
        }

        foreach (var dir in host.ExtraReadOnlyDirectories)
        {
            args.AddRange(["--ro-bind", dir, dir]);
        }

        var tmpBytes = ((long)spec.EphemeralStorageSize * 1024 * 1024).ToString(CultureInfo.InvariantCulture);
        args.AddRange([
            "--proc", "/proc",
            "--dev", "/dev",
            "--remount-ro", "/dev",
            "--size", tmpBytes, "--perms", "1777", "--tmpfs", "/tmp",
            "--ro-bind", spec.CodeDirectory, "/var/task",
            "--ro-bind", host.RuntimesDirectory, "/var/runtime",
            .. (spec.OptDirectory is null ? ["--dir", "/opt"] : (string[])["--ro-bind", spec.OptDirectory, "/opt"]),
            "--remount-ro", "/",
            "--chdir", "/var/task",
        ]);
        return args;
    }

    private static readonly string[] EtcFiles =
    [
        "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/ssl", "/etc/ca-certificates",
        "/etc/pki", "/etc/nsswitch.conf", "/etc/localtime",
        "/etc/mime.types", "/etc/python3", "/etc/python3.11",
    ];

    /// <summary>
    /// Where the function reaches Hayate's API: the port forwarded into its own namespace; in a
    /// sandbox on the host's network, the server's own address; null before the server listens.
    /// </summary>
    private string? ApiUrl() =>
        host.PrivateNetwork ? ForwardedApi
        : endpoint.Address is { } address ? $"http://{(address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address.Address}]" : address.Address.ToString())}:{address.Port.ToString(CultureInfo.InvariantCulture)}"
        : null;

    /// <summary>The environment Lambda gives a function, then the function's own variables.</summary>
    private Dictionary<string, string> Environment(SandboxSpec spec, string runtimeApi, string? apiUrl, string logStream, bool provisioned)
    {
        var taskRoot = host.Bwrap is null ? spec.CodeDirectory : "/var/task";
        var runtimeDir = host.Bwrap is null ? host.RuntimesDirectory : "/var/runtime";
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
            ["LD_LIBRARY_PATH"] = $"/lib64:/usr/lib64:{runtimeDir}:{runtimeDir}/lib:{taskRoot}:{taskRoot}/lib:/opt/lib",
            ["LANG"] = "en_US.UTF-8",
            ["TZ"] = ":UTC",
            ["LAMBDA_TASK_ROOT"] = taskRoot,
            ["LAMBDA_RUNTIME_DIR"] = runtimeDir,
            ["_HANDLER"] = spec.Handler,
            ["AWS_LAMBDA_RUNTIME_API"] = runtimeApi,
            ["AWS_REGION"] = spec.Region,
            ["AWS_DEFAULT_REGION"] = spec.Region,
            ["AWS_EXECUTION_ENV"] = "AWS_Lambda_" + spec.Runtime,
            ["AWS_LAMBDA_FUNCTION_NAME"] = spec.FunctionName,
            ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = spec.MemorySize.ToString(CultureInfo.InvariantCulture),
            ["AWS_LAMBDA_FUNCTION_VERSION"] = spec.Version,
            ["AWS_LAMBDA_INITIALIZATION_TYPE"] = provisioned ? "provisioned-concurrency" : "on-demand",
            ["AWS_LAMBDA_LOG_GROUP_NAME"] = "/aws/lambda/" + spec.FunctionName,
            ["AWS_LAMBDA_LOG_STREAM_NAME"] = logStream,
        };
        if (spec.Kind == RuntimeKind.Node)
        {
            env["NODE_PATH"] = NodePath(spec.Runtime);
        }

        if (apiUrl is not null)
        {
            // The AWS SDKs send every service's calls here (botocore, the JavaScript SDK v3 and the
            // AWS CLI honour AWS_ENDPOINT_URL). The credentials are placeholders: the server does
            // not check signatures yet; they let an SDK sign its requests.
            env["AWS_ENDPOINT_URL"] = apiUrl;
            env["AWS_ACCESS_KEY_ID"] = "ASIAHAYATESANDBOX000";
            env["AWS_SECRET_ACCESS_KEY"] = "hayate-sandbox-placeholder-secret-key";
            env["AWS_SESSION_TOKEN"] = "hayate-sandbox-placeholder-session-token";
        }

        foreach (var (key, value) in spec.Environment)
        {
            env[key] = value;
        }

        return env;
    }

    /// <summary>
    /// Where node looks for modules, as Lambda sets it: the layer folder of the runtime's own
    /// major version (nodejs22.x: /opt/nodejs/node22/node_modules), then every version's, then the runtime's and the function's.
    /// </summary>
    internal static string NodePath(string runtime)
    {
        var major = runtime.StartsWith("nodejs", StringComparison.Ordinal) && runtime.EndsWith(".x", StringComparison.Ordinal)
            ? runtime["nodejs".Length..^".x".Length]
            : null;
        var own = major is { Length: > 0 } && major.All(char.IsAsciiDigit) ? $"/opt/nodejs/node{major}/node_modules:" : "";
        return own + "/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task";
    }

    private static Socket ListenOnHost()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        socket.Listen(16);
        return socket;
    }

    private static async Task<int> ReadChildPidAsync(int fd, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.Read, 1, isAsync: false);
        var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        if (buffer.Length == 0)
        {
            throw new SandboxStartException("Runtime.Unknown", "bubblewrap exited before the sandbox was created");
        }

        using var info = JsonDocument.Parse(buffer.ToArray());
        return info.RootElement.GetProperty("child-pid").GetInt32();
    }
}

/// <summary>The sandbox could not be started; carries the Lambda error type to answer with.</summary>
public sealed class SandboxStartException(string errorType, string message) : Exception(message)
{
    public string ErrorType { get; } = errorType;
}
