using System.Diagnostics;

namespace Hayate.Sandboxes.Isolation;

/// <summary>
/// Stages the bootstraps into the data directory at start and compiles the python one with the
/// interpreter the sandboxes use: a script run by path is never byte-code cached, and compiling
/// it cost every python cold start 10–13 ms.
/// </summary>
public static class RuntimeFiles
{
    /// <summary>Copies <paramref name="source"/> to <paramref name="target"/>; returns true when bootstrap.pyc was made.</summary>
    public static bool Stage(string source, string target, string? python)
    {
        if (Directory.Exists(target))
        {
            Directory.Delete(target, recursive: true);
        }

        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.Contains("__pycache__", StringComparison.Ordinal))
            {
                continue;
            }

            var destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }

        // Lambda's accounts for /etc inside the sandbox: the function is sbx_user1051 (993:990).
        Directory.CreateDirectory(Path.Combine(target, "etc"));
        File.WriteAllText(Path.Combine(target, "etc", "passwd"), "root:x:0:0:root:/root:/sbin/nologin\nsbx_user1051:x:993:990::/home/sbx_user1051:/sbin/nologin\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n");
        File.WriteAllText(Path.Combine(target, "etc", "group"), "root:x:0:\nsbx_user1051:x:990:\nnobody:x:65534:\n");
        // In its own network namespace a sandbox resolves names through slirp4netns's DNS forwarder.
        File.WriteAllText(Path.Combine(target, "etc", "resolv.conf"), $"nameserver {Networking.EgressPolicy.Dns}\noptions timeout:2 attempts:2\n");
        File.WriteAllText(Path.Combine(target, "etc", "hosts"), "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n");

        SandboxMounts.MakeReadable(target, files: true);
        var script = Path.Combine(target, "python", "bootstrap.py");
        if (python is null || !File.Exists(script))
        {
            return false;
        }

        try
        {
            return Compile(python, script);
        }
        finally
        {
            SandboxMounts.MakeReadable(target, files: true);
        }
    }

    private static bool Compile(string python, string script)
    {
        var compile = new ProcessStartInfo(python) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        compile.ArgumentList.Add("-c");
        compile.ArgumentList.Add("import py_compile, sys; py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)");
        compile.ArgumentList.Add(script);
        compile.ArgumentList.Add(Path.ChangeExtension(script, ".pyc"));
        using var process = Process.Start(compile)!;
        process.WaitForExit(TimeSpan.FromSeconds(30));
        return process.HasExited && process.ExitCode == 0;
    }
}
