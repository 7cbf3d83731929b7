using System.Runtime.InteropServices;

namespace Hayate.Sandboxes.Isolation;

/// <summary>
/// The system calls a function may make: one default-deny filter for every runtime, built with
/// libseccomp (the distribution's library, through P/Invoke) and handed to bubblewrap as compiled
/// BPF (--seccomp FD). Docker's default profile is the reference: its allowlist, less what a function
/// never needs. A denied call fails with EPERM, so runtimes degrade rather than die; a few calls whose
/// callers fall back when the kernel lacks them (clone3, io_uring) fail with ENOSYS instead.
///
/// Denied, among others: ptrace and process_vm_readv/writev (no reading other processes), mount,
/// umount2, pivot_root, chroot and the new mount API, unshare, setns and clone with any namespace
/// flag, keyctl/add_key/request_key, bpf, perf_event_open, userfaultfd, io_uring_*, kexec_*,
/// init/finit/delete_module, open_by_handle_at, name_to_handle_at, swapon/swapoff, reboot, acct,
/// quotactl, syslog, lookup_dcookie, kcmp, pidfd_getfd, personality with any but the harmless
/// flags, and sockets of any family but AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK's route protocol.
/// System calls of another ABI (32-bit int 0x80, x32) kill the process.
/// </summary>
public static partial class SeccompProfile
{
    private const int EPERM = 1;
    private const int ENOSYS = 38;
    private const uint ActAllow = 0x7fff0000;

    // Namespace flags of clone(2): CLONE_NEWTIME, NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET.
    private const ulong NamespaceFlags = 0x80 | 0x20000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000;

    private const ulong AfUnix = 1;
    private const ulong AfInet = 2;
    private const ulong AfInet6 = 10;
    private const ulong AfNetlink = 16;
    private const ulong NetlinkRoute = 0;

    /// <summary>personality(2) values that change nothing dangerous: PER_LINUX, PER_LINUX32, UNAME26 (and with PER_LINUX32), and the query.</summary>
    private static readonly ulong[] Personalities = [0x0, 0x8, 0x20000, 0x20008, 0xffffffff];

    /// <summary>Allowed whatever their arguments (Docker's list, less what functions never need).</summary>
    public static IReadOnlyList<string> Allowed { get; } =
    [
        "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk", "cachestat", "capget", "capset", "chdir", "chmod",
        "chown", "clock_adjtime", "clock_getres", "clock_gettime", "clock_nanosleep", "close", "close_range", "connect", "copy_file_range",
        "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_pwait2", "epoll_wait", "eventfd",
        "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fallocate", "fchdir", "fchmod",
        "fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
        "fsetxattr", "fstat", "fstatfs", "fsync", "ftruncate", "futex", "futex_requeue", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
        "getcpu", "getcwd", "getdents", "getdents64", "getegid", "geteuid", "getgid", "getgroups", "getitimer", "getpeername", "getpgid",
        "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid", "getresuid", "getrlimit", "get_robust_list", "getrusage",
        "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getxattr", "inotify_add_watch",
        "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "ioprio_get",
        "ioprio_set", "io_setup", "io_submit", "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown",
        "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr", "lstat", "madvise",
        "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2",
        "mlockall", "mmap", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink", "mremap",
        "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep", "newfstatat", "open", "openat",
        "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll",
        "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6", "pwrite64", "pwritev", "pwritev2", "read",
        "readahead", "readlink", "readlinkat", "readv", "recvfrom", "recvmmsg", "recvmsg", "remap_file_pages", "removexattr", "rename",
        "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo",
        "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
        "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
        "semtimedop", "sendfile", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsuid", "setgid", "setgroups", "setitimer", "setpgid",
        "setpriority", "setregid", "setresgid", "setresuid", "setreuid", "setrlimit", "set_robust_list", "setsid", "setsockopt",
        "set_thread_area", "set_tid_address", "setuid", "setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack",
        "signalfd", "signalfd4", "socketpair", "splice", "stat", "statfs", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
        "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime",
        "timerfd_create", "timerfd_gettime", "timerfd_settime", "times", "tkill", "truncate", "umask", "uname", "unlink", "unlinkat", "utime",
        "utimensat", "utimes", "vfork", "vmsplice", "wait4", "waitid", "write", "writev",
    ];

    /// <summary>Answered ENOSYS, as by a kernel without them: their callers (glibc, libuv) fall back to older calls.</summary>
    public static IReadOnlyList<string> Missing { get; } = ["clone3", "io_uring_setup", "io_uring_enter", "io_uring_register"];

    private static readonly Lazy<byte[]> Compiled = new(Compile);

    /// <summary>The filter as BPF, compiled once; null when libseccomp cannot be loaded (install libseccomp2).</summary>
    public static byte[]? Bpf
    {
        get
        {
            try
            {
                return Compiled.Value;
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
            {
                return null;
            }
        }
    }

    /// <summary>Why <see cref="Bpf"/> is null.</summary>
    public static string? Problem
    {
        get
        {
            try
            {
                _ = Compiled.Value;
                return null;
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
            {
                return ex.Message;
            }
        }
    }

    private static byte[] Compile()
    {
        var context = seccomp_init(Errno(EPERM));
        if (context == 0)
        {
            throw new InvalidOperationException("seccomp_init failed");
        }

        try
        {
            foreach (var name in Allowed)
            {
                Add(context, ActAllow, name);
            }

            foreach (var name in Missing)
            {
                Add(context, Errno(ENOSYS), name);
            }

            // clone without any namespace flag: threads and processes, never new namespaces.
            Add(context, ActAllow, "clone", new ArgCompare(0, CompareOp.MaskedEqual, NamespaceFlags, 0));
            foreach (var family in new[] { AfUnix, AfInet, AfInet6 })
            {
                Add(context, ActAllow, "socket", new ArgCompare(0, CompareOp.Equal, family, 0));
            }

            Add(context, ActAllow, "socket", new ArgCompare(0, CompareOp.Equal, AfNetlink, 0), new ArgCompare(2, CompareOp.Equal, NetlinkRoute, 0));
            foreach (var persona in Personalities)
            {
                Add(context, ActAllow, "personality", new ArgCompare(0, CompareOp.Equal, persona, 0));
            }

            var (read, write) = Native.Pipe();
            try
            {
                var exported = seccomp_export_bpf(context, write);
                Native.close(write);
                write = -1;
                if (exported != 0)
                {
                    throw new InvalidOperationException($"seccomp_export_bpf failed: {exported}");
                }

                using var stream = new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(read, ownsHandle: true), FileAccess.Read);
                read = -1;
                using var program = new MemoryStream();
                stream.CopyTo(program);
                return program.ToArray();
            }
            finally
            {
                if (write >= 0)
                {
                    Native.close(write);
                }

                if (read >= 0)
                {
                    Native.close(read);
                }
            }
        }
        finally
        {
            seccomp_release(context);
        }
    }

    private static void Add(nint context, uint action, string name, params ReadOnlySpan<ArgCompare> compares)
    {
        var number = seccomp_syscall_resolve_name(name);
        if (number < 0)
        {
            // Not a system call of this architecture (e.g. a 32-bit one): nothing to allow.
            return;
        }

        var result = seccomp_rule_add_array(context, action, number, (uint)compares.Length, compares);
        if (result != 0)
        {
            throw new InvalidOperationException($"seccomp_rule_add({name}) failed: {result}");
        }
    }

    private static uint Errno(int errno) => 0x00050000u | (uint)(errno & 0xffff);

    private enum CompareOp
    {
        Equal = 4,
        MaskedEqual = 7,
    }

    /// <summary>libseccomp's struct scmp_arg_cmp: argument index, operator, datum_a (value or mask), datum_b (value under the mask).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct ArgCompare(uint Arg, CompareOp Op, ulong DatumA, ulong DatumB);

    [LibraryImport("libseccomp.so.2")]
    private static partial nint seccomp_init(uint defaultAction);

    [LibraryImport("libseccomp.so.2")]
    private static partial void seccomp_release(nint context);

    [LibraryImport("libseccomp.so.2", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int seccomp_syscall_resolve_name(string name);

    [LibraryImport("libseccomp.so.2")]
    private static partial int seccomp_rule_add_array(nint context, uint action, int syscall, uint count, ReadOnlySpan<ArgCompare> compares);

    [LibraryImport("libseccomp.so.2")]
    private static partial int seccomp_export_bpf(nint context, int fd);
}
