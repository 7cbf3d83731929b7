using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>
/// Functions that attack their sandbox, from python, node and a custom runtime, as a hostile
/// tenant would: each attack must fail as the sandbox promises, and leave the host, the server and
/// a neighbouring function as they were.
/// </summary>
public sealed class EscapeTests(SharedServer shared)
{
    private const string Sysctl = "/proc/sys/kernel/printk_ratelimit_burst";

    /// <summary>x86_64 system call numbers of what a function must not do, and the errno each must give.</summary>
    private const string Attacks = """
        import ctypes, errno, os, socket, json
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        def call(nr, *args):
            r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
            if r == 0 and nr == 56:
                os._exit(0)  # a clone that should have failed: the child leaves at once
            return 'ALLOWED' if r >= 0 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
        buf = ctypes.create_string_buffer(4096)
        p = ctypes.addressof(buf)
        calls = {
            'ptrace_attach': (101, 16, 1, 0, 0), 'mount': (165, p, p, p, 0, 0), 'umount2': (166, p, 0), 'pivot_root': (155, p, p),
            'chroot': (161, p), 'unshare_user': (272, 0x10000000), 'unshare_mount': (272, 0x20000), 'unshare_net': (272, 0x40000000),
            'setns': (308, 0, 0), 'clone_newns': (56, 0x20000 | 17, 0, 0, 0, 0), 'clone_newuser': (56, 0x10000000 | 17, 0, 0, 0, 0),
            'keyctl': (250, 0, 0, 0, 0, 0), 'add_key': (248, p, p, 0, 0, 0), 'request_key': (249, p, p, 0, 0), 'bpf': (321, 0, p, 48),
            'perf_event_open': (298, p, 0, -1, -1, 0), 'userfaultfd': (323, 0), 'kexec_load': (246, 0, 0, 0, 0),
            'kexec_file_load': (320, -1, -1, 0, 0, 0), 'init_module': (175, p, 16, p), 'finit_module': (313, -1, p, 0),
            'delete_module': (176, p, 0), 'open_by_handle_at': (304, -1, p, 0), 'name_to_handle_at': (303, -100, p, p, p, 0),
            'swapon': (167, p, 0), 'swapoff': (168, p), 'reboot': (169, 0, 0, 0, 0), 'acct': (163, 0), 'quotactl': (179, 0, p, 0, 0),
            'syslog': (103, 3, p, 100), 'lookup_dcookie': (212, 0, p, 16), 'process_vm_readv': (310, 1, p, 1, p, 1, 0),
            'kcmp': (312, 1, 1, 0, 0, 0), 'pidfd_getfd': (438, 0, 0, 0), 'fsopen': (430, p, 0), 'open_tree': (428, -100, p, 0),
            'personality_no_aslr': (135, 0x0040000), 'io_uring_setup': (425, 1, p),
        }
        out = {name: call(*args) for name, args in calls.items()}
        def sock(*a):
            try:
                socket.socket(*a).close()
                return 'ALLOWED'
            except OSError as e:
                return errno.errorcode.get(e.errno, str(e.errno))
        out['af_packet'] = sock(17, 3, 0)
        out['netlink_netfilter'] = sock(16, 3, 12)
        out['netlink_route'] = sock(16, 3, 0)
        out['af_inet'] = sock(2, 1, 0)
        out['getpid'] = 'ALLOWED' if os.getpid() > 0 else 'NO'
        """;

    private static string PythonAttacker() => $$"""
        import os, subprocess, json
        def handler(event, context):
            {{Attacks.Replace("\n", "\n    ", StringComparison.Ordinal).Trim()}}
            def attempt(action):
                try:
                    action()
                    return 'DONE'
                except OSError as e:
                    return errno.errorcode.get(e.errno, str(e.errno))
            out['sysctl_write'] = attempt(lambda: open('{{Sysctl}}', 'w').write('1'))
            for path in ['/x', '/etc/x', '/opt/x', '/var/x', '/var/task/x', '/var/runtime/x', '/usr/x', '/dev/shm/x', '/tmp/x']:
                out['write ' + path] = attempt(lambda: open(path, 'w').write('x'))
            out['cgroup_mount'] = subprocess.run(['mount', '-t', 'cgroup', '-o', 'memory', 'cgroup', '/tmp'], capture_output=True).returncode
            out['sys'] = os.path.exists('/sys/fs/cgroup')
            out['nested_userns'] = subprocess.run(['unshare', '-Ur', 'true'], capture_output=True).returncode
            out['cmdline'] = open('/proc/1/cmdline').read().replace('\0', ' ')
            out['self_cmdline'] = open('/proc/self/cmdline').read().replace('\0', ' ')
            out['status'] = [l for l in open('/proc/self/status').read().splitlines() if l.split(':')[0] in ('NoNewPrivs', 'Seccomp', 'CapEff', 'CapBnd')]
            out['uid'] = [os.getuid(), os.geteuid(), os.getgid()]
            out['processes'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())
            return out
        """;

    [Fact]
    public async Task Python_SystemCallsMountsSysctlsAndNamespaces_AreAllRefused_AndTheHostIsUntouched()
    {
        RequireHardenedSandbox();
        var before = await File.ReadAllTextAsync(Sysctl);
        var name = Names.New("esc-py");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", PythonAttacker())), timeout: 30);

        var attacked = await shared.InvokeAsync(name);
        Assert.True(attacked.Status == 200 && attacked.FunctionError is null, attacked.Body);
        var json = attacked.Json!.AsObject();

        foreach (var denied in new[]
        {
            "ptrace_attach", "mount", "umount2", "pivot_root", "chroot", "unshare_user", "unshare_mount", "unshare_net", "setns", "clone_newns",
            "clone_newuser", "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "kexec_load", "kexec_file_load",
            "init_module", "finit_module", "delete_module", "open_by_handle_at", "name_to_handle_at", "swapon", "swapoff", "reboot", "acct",
            "quotactl", "syslog", "lookup_dcookie", "process_vm_readv", "kcmp", "pidfd_getfd", "fsopen", "open_tree", "personality_no_aslr",
            "af_packet", "netlink_netfilter",
        })
        {
            Assert.True(json[denied]!.GetValue<string>() == "EPERM", $"{denied}: {json[denied]} (EPERM expected)");
        }

        // Callers of io_uring fall back when the kernel lacks it: ENOSYS, not EPERM.
        Assert.Equal("ENOSYS", json["io_uring_setup"]!.GetValue<string>());
        foreach (var allowed in new[] { "netlink_route", "af_inet", "getpid" })
        {
            Assert.Equal("ALLOWED", json[allowed]!.GetValue<string>());
        }

        Assert.Equal("EACCES", json["sysctl_write"]!.GetValue<string>());
        Assert.Equal(before, await File.ReadAllTextAsync(Sysctl));
        foreach (var path in new[] { "/x", "/etc/x", "/opt/x", "/var/x", "/var/task/x", "/var/runtime/x", "/usr/x", "/dev/shm/x" })
        {
            Assert.True(json["write " + path]!.GetValue<string>() == "EROFS", $"write {path}: {json["write " + path]}");
        }

        Assert.Equal("DONE", json["write /tmp/x"]!.GetValue<string>());
        Assert.NotEqual(0, json["cgroup_mount"]!.GetValue<int>());
        Assert.False(json["sys"]!.GetValue<bool>());
        Assert.NotEqual(0, json["nested_userns"]!.GetValue<int>());
        Assert.DoesNotContain("/tmp/", json["cmdline"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(shared.Server.DataDirectory, json["cmdline"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.StartsWith("/usr/bin/python3 -u /var/runtime/", json["self_cmdline"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("[993,993,990]", json["uid"]!.ToJsonString());
        var status = json["status"]!.AsArray().Select(l => l!.GetValue<string>().Replace("\t", " ", StringComparison.Ordinal)).ToList();
        Assert.Contains("NoNewPrivs: 1", status);
        Assert.Contains("Seccomp: 2", status);
        Assert.Contains("CapEff: 0000000000000000", status);
        Assert.Contains("CapBnd: 0000000000000000", status);
        // Its own processes only: bubblewrap's init, the runtime and whatever it started.
        Assert.True(json["processes"]!.AsArray().Count < 10, json["processes"]!.ToJsonString());

        AssertRunsAsUnprivilegedHostUsers(name);
        await AssertNeighbourUnaffectedAsync();
    }

    [Fact]
    public async Task Node_SysctlNamespacesAndWritesOutsideTmp_AreRefused()
    {
        RequireHardenedSandbox();
        var before = await File.ReadAllTextAsync(Sysctl);
        var name = Names.New("esc-node");
        await shared.CreateFunctionAsync(name, "nodejs20.x", "index.handler", Zip.Of(("index.js", $$"""
            const fs = require('fs');
            const { spawnSync } = require('child_process');
            const attempt = (f) => { try { f(); return 'DONE'; } catch (e) { return e.code; } };
            exports.handler = async () => ({
              sysctl: attempt(() => fs.writeFileSync('{{Sysctl}}', '1')),
              root: attempt(() => fs.writeFileSync('/x', 'x')),
              task: attempt(() => fs.writeFileSync('/var/task/x', 'x')),
              shm: attempt(() => fs.writeFileSync('/dev/shm/x', 'x')),
              tmp: attempt(() => fs.writeFileSync('/tmp/x', 'x')),
              userns: spawnSync('unshare', ['-Ur', 'true']).status,
              mount: spawnSync('mount', ['-t', 'tmpfs', 'none', '/tmp']).status,
              cmdline: fs.readFileSync('/proc/1/cmdline', 'utf8').replace(/\0/g, ' '),
              uid: process.getuid(),
            });
            """)), timeout: 30);

        var attacked = await shared.InvokeAsync(name);
        Assert.True(attacked.Status == 200 && attacked.FunctionError is null, attacked.Body);
        var json = attacked.Json!;
        Assert.Equal("EACCES", json["sysctl"]!.GetValue<string>());
        Assert.Equal(before, await File.ReadAllTextAsync(Sysctl));
        Assert.Equal("EROFS EROFS EROFS DONE", string.Join(' ', json["root"], json["task"], json["shm"], json["tmp"]));
        Assert.NotEqual(0, json["userns"]!.GetValue<int>());
        Assert.NotEqual(0, json["mount"]!.GetValue<int>());
        Assert.DoesNotContain(shared.Server.DataDirectory, json["cmdline"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(993, json["uid"]!.GetValue<int>());
        AssertRunsAsUnprivilegedHostUsers(name);
    }

    [Fact]
    public async Task CustomRuntime_SysctlNamespacesMountsAndFullTmp_AreRefused()
    {
        RequireHardenedSandbox();
        var before = await File.ReadAllTextAsync(Sysctl);
        var name = Names.New("esc-sh");
        // A bash bootstrap over curl: each attack's exit status, then /tmp filled past EphemeralStorage (512 MB).
        var bootstrap = """
            #!/bin/bash
            while true; do
              headers=$(mktemp)
              curl -sS -D "$headers" -o /tmp/event "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next"
              id=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$headers" | tr -d '\r' | cut -d' ' -f2)
              echo 1 > /proc/sys/kernel/printk_ratelimit_burst 2>/dev/null; sysctl=$?
              unshare -Ur true 2>/dev/null; userns=$?
              mount -t cgroup -o memory cgroup /tmp 2>/dev/null; cgroup=$?
              touch /etc/x 2>/dev/null; etc=$?
              dd if=/dev/zero of=/tmp/fill bs=1M count=700 2>/dev/null; fill=$(( $(stat -c %s /tmp/fill) / 1048576 ))
              rm -f /tmp/fill
              curl -sS -X POST -d "{\"sysctl\":$sysctl,\"userns\":$userns,\"cgroup\":$cgroup,\"etc\":$etc,\"filled_mb\":$fill}" \
                "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$id/response" >/dev/null
            done
            """;
        await shared.CreateFunctionAsync(name, "provided.al2023", "x", Zip.Of(("bootstrap", bootstrap, 0x1ED)), timeout: 30, memory: 1024);

        var attacked = await shared.InvokeAsync(name);
        Assert.True(attacked.Status == 200 && attacked.FunctionError is null, attacked.Body);
        var json = attacked.Json!;
        foreach (var key in new[] { "sysctl", "userns", "cgroup", "etc" })
        {
            Assert.True(json[key]!.GetValue<int>() != 0, $"{key} succeeded: {attacked.Body}");
        }

        Assert.Equal(before, await File.ReadAllTextAsync(Sysctl));
        // /tmp holds EphemeralStorage (512 MB by default) and not a byte more.
        Assert.InRange(json["filled_mb"]!.GetValue<int>(), 500, 512);
        AssertRunsAsUnprivilegedHostUsers(name);
    }

    [Fact]
    public async Task BackgroundChild_DoesNotRunWhileTheSandboxIsIdle()
    {
        RequireHardenedSandbox();
        var name = Names.New("esc-bg");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", """
            import subprocess, time
            def handler(event, context):
                if event.get('start'):
                    # A child left behind that counts as long as it is let to run.
                    subprocess.Popen(['/usr/bin/python3', '-c', 'import time\nn = 0\nwhile True:\n    n += 1\n    open("/tmp/count", "w").write(str(n))\n    time.sleep(0.01)'])
                    time.sleep(0.5)
                return int(open('/tmp/count').read())
            """)), memory: 2048);

        var started = await shared.InvokeAsync(name, """{"start": true}""");
        Assert.True(started.Status == 200 && started.FunctionError is null, started.Body);
        var atReturn = int.Parse(started.Body, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(atReturn > 5, $"the child counted only to {atReturn} while the invocation ran");

        // Idle for two seconds: running, the child would count to about 200 more.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var later = await shared.InvokeAsync(name);
        var atNext = int.Parse(later.Body, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(atNext - atReturn < 30, $"the child counted from {atReturn} to {atNext} while the sandbox was idle");
    }

    [Fact]
    public async Task RuntimeApi_ResponseForAnotherRequestId_IsRefused_AndTheRealInvocationIsUnharmed()
    {
        var name = Names.New("esc-spoof");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", """
            import os, urllib.request, urllib.error
            def handler(event, context):
                api = os.environ['AWS_LAMBDA_RUNTIME_API']
                url = f'http://{api}/2018-06-01/runtime/invocation/00000000-0000-0000-0000-000000000000/response'
                try:
                    urllib.request.urlopen(urllib.request.Request(url, data=b'"spoofed"', method='POST'))
                    return 'ACCEPTED'
                except urllib.error.HTTPError as e:
                    return e.code
            """)));

        var result = await shared.InvokeAsync(name);

        Assert.Equal(200, result.Status);
        Assert.Equal("400", result.Body);
    }

    [Fact]
    public async Task AnotherFunction_CodeEnvironmentAndTmp_AreOutOfReach_WhileItRuns()
    {
        RequireHardenedSandbox();
        var victim = Names.New("esc-victim");
        var thief = Names.New("esc-thief");
        var secret = "s3cr3t-" + Guid.NewGuid().ToString("N");
        await shared.CreateFunctionAsync(victim, "python3.12", "app.handler", Zip.Of(("app.py", $$"""
            import time
            MARKER = '{{secret}}'
            def handler(event, context):
                open('/tmp/victim-secret', 'w').write(MARKER)
                time.sleep(4)
                return 'done'
            """)), timeout: 30, environment: new Dictionary<string, string> { ["VICTIM_SECRET"] = secret });
        await shared.CreateFunctionAsync(thief, "python3.12", "app.handler", Zip.Of(("app.py", """
            import os
            def read(path):
                try:
                    return open(path, errors='replace').read()
                except OSError as e:
                    return type(e).__name__
            def handler(event, context):
                found = []
                for pid in [p for p in os.listdir('/proc') if p.isdigit()]:
                    if event['secret'] in read(f'/proc/{pid}/environ') + read(f'/proc/{pid}/cmdline'):
                        found.append('environ of ' + pid)
                for path in ['/tmp/victim-secret'] + event['host_paths']:
                    if event['secret'] in read(path):
                        found.append(path)
                return {'found': found, 'task': sorted(os.listdir('/var/task')), 'tmp': sorted(os.listdir('/tmp')),
                        'host_paths': {p: os.path.exists(p) for p in event['host_paths']}}
            """)), timeout: 30);

        var running = shared.InvokeAsync(victim);
        await Task.Delay(TimeSpan.FromSeconds(1.5), TestContext.Current.CancellationToken);
        // Where the victim's code and the server's data are on the host: the thief must see none of it.
        var roots = new[] { shared.Server.DataDirectory }.Concat(Directory.Exists("/var/tmp") ? Directory.EnumerateDirectories("/var/tmp", "hayate-*") : []);
        var code = roots.SelectMany(r => Directory.EnumerateFiles(r, "app.py", SearchOption.AllDirectories))
            .First(f => File.ReadAllText(f).Contains(secret, StringComparison.Ordinal));
        var hostPaths = new JsonArray(code, shared.Server.DataDirectory, Path.Combine(shared.Server.DataDirectory, "hayate.db"));
        var stolen = await shared.InvokeAsync(thief, new JsonObject { ["secret"] = secret, ["host_paths"] = hostPaths }.ToJsonString());

        Assert.Equal("\"done\"", (await running).Body);
        Assert.True(stolen.Status == 200 && stolen.FunctionError is null, stolen.Body);
        var json = stolen.Json!;
        Assert.Equal("[]", json["found"]!.ToJsonString());
        Assert.Equal("[\"app.py\"]", json["task"]!.ToJsonString());
        Assert.DoesNotContain("victim-secret", json["tmp"]!.ToJsonString(), StringComparison.Ordinal);
        Assert.All(json["host_paths"]!.AsObject(), p => Assert.False(p.Value!.GetValue<bool>(), $"{p.Key} is visible in another function's sandbox"));
    }

    private static void RequireHardenedSandbox() =>
        Assert.SkipUnless(SharedServer.Bubblewrap && SharedServer.Root, "the hardened sandbox needs bubblewrap and a server running as root; CI has both");

    /// <summary>Every process of the function, seen from the host, runs as a uid of the sandboxes' range: never root.</summary>
    private static void AssertRunsAsUnprivilegedHostUsers(string function)
    {
        var found = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc").Where(d => int.TryParse(Path.GetFileName(d), out _)))
        {
            string environ, status;
            try
            {
                environ = File.ReadAllText(Path.Combine(dir, "environ"));
                status = File.ReadAllText(Path.Combine(dir, "status"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (!environ.Split('\0').Contains("AWS_LAMBDA_FUNCTION_NAME=" + function))
            {
                continue;
            }

            found++;
            foreach (var line in status.Split('\n').Where(l => l.StartsWith("Uid:", StringComparison.Ordinal) || l.StartsWith("Gid:", StringComparison.Ordinal)))
            {
                var ids = line.Split(['\t', ' '], StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToList();
                Assert.True(ids.All(id => id >= 1_600_000_000), $"{dir} of {function}: {line}");
            }
        }

        Assert.True(found > 0, $"no process of {function} was found on the host");
    }

    /// <summary>After the attacks, another function still runs warm, fast and right.</summary>
    private async Task AssertNeighbourUnaffectedAsync()
    {
        var neighbour = Names.New("esc-nb");
        await shared.CreateFunctionAsync(neighbour, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(e, c):\n    return e\n")));
        for (var i = 0; i < 3; i++)
        {
            var ok = await shared.InvokeAsync(neighbour, """{"still":"fine"}""");
            Assert.Equal("""{"still": "fine"}""", ok.Body);
        }
    }
}
