using System.Net.Sockets;
using System.Text;

namespace Hayate.Sandboxes.Isolation;

/// <summary>
/// What `hayate serve` checks before it takes any request: a sandbox, started as every function's
/// is, tries to write a global sysctl and to make a nested user namespace. If either works, the
/// sandbox does not hold on this host and the server must not run other people's code.
/// </summary>
internal static class SandboxSelfTest
{
    /// <summary>The attempts, as a `provided` bootstrap; each prints "NAME: allowed" or "NAME: refused".</summary>
    public const string Bootstrap = """
        #!/bin/bash
        f=/proc/sys/kernel/printk_ratelimit_burst
        v=$(cat "$f" 2>/dev/null)
        # Writes back the value it read: if the write goes through, nothing on the host changes.
        if [ -n "$v" ] && (echo "$v" > "$f") 2>/dev/null; then echo "sysctl-write: allowed"; else echo "sysctl-write: refused"; fi
        if ! command -v unshare >/dev/null; then echo "nested-userns: untested (no unshare in the sandbox)"
        elif unshare --user true 2>/dev/null; then echo "nested-userns: allowed"; else echo "nested-userns: refused"; fi
        """;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    /// <summary>Runs the attempts in a sandbox from <paramref name="launcher"/>; the problems found, none when it holds.</summary>
    public static async Task<IReadOnlyList<string>> RunAsync(Launcher launcher, string codeDirectory, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(codeDirectory);
        var bootstrap = Path.Combine(codeDirectory, "bootstrap");
        await File.WriteAllTextAsync(bootstrap, Bootstrap.ReplaceLineEndings("\n") + "\n", cancellationToken);
        File.SetUnixFileMode(bootstrap, (UnixFileMode)0x1ED);
        SandboxMounts.MakeReadable(codeDirectory, files: true);
        var spec = new SandboxSpec
        {
            Identity = "hayate-self-test",
            FunctionName = "hayate-self-test",
            FunctionArn = "arn:aws:lambda:us-east-1:000000000000:function:hayate-self-test",
            Version = "$LATEST",
            Runtime = "provided.al2023",
            Kind = RuntimeKind.Provided,
            Handler = "self-test",
            CodeDirectory = codeDirectory,
            MemorySize = 256,
            Timeout = (int)Timeout.TotalSeconds,
            EphemeralStorageSize = 512,
            Environment = new Dictionary<string, string>(),
            Region = "us-east-1",
        };

        var launched = await launcher.LaunchAsync(spec, "self-test-" + Guid.NewGuid().ToString("N")[..8], "self-test", provisioned: false, cancellationToken);
        string said;
        try
        {
            said = await ReadToEndAsync(launched.Output, cancellationToken);
        }
        finally
        {
            try
            {
                launched.Process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
            }

            await launched.Process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            launched.Process.Dispose();
            launched.Output.Dispose();
            launched.Listener.Dispose();
            launched.Network?.Dispose();
            launched.Cgroup?.Destroy();
            launched.User?.Dispose();
        }

        return Problems(said);
    }

    /// <summary>What the bootstrap's output says is wrong: each attempt must say "refused".</summary>
    internal static IReadOnlyList<string> Problems(string said)
    {
        var problems = new List<string>();
        foreach (var attempt in new[] { "sysctl-write", "nested-userns" })
        {
            var line = said.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(attempt + ":", StringComparison.Ordinal));
            if (line != attempt + ": refused")
            {
                problems.Add(line is null ? $"{attempt}: the self-test sandbox did not report (it said: {said.Trim()})" : line);
            }
        }

        return problems;
    }

    private static async Task<string> ReadToEndAsync(Socket output, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        var text = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            while (text.Length < 64 * 1024)
            {
                var read = await output.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (read == 0)
                {
                    break;
                }

                text.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }

        return text.ToString();
    }
}
