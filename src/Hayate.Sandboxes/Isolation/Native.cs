using System.Runtime.InteropServices;

namespace Hayate.Sandboxes.Isolation;

/// <summary>The few libc calls .NET does not expose: inheritable pipes, network namespaces and their loopback.</summary>
internal static partial class Native
{
    public const int CLONE_NEWNET = 0x40000000;
    private const int O_CLOEXEC = 0x80000;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe2(Span<int> fds, int flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int setns(int fd, int nstype);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int cmd, int arg);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint write(int fd, ReadOnlySpan<byte> buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial nint read(int fd, Span<byte> buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int socketpair(int domain, int type, int protocol, Span<int> fds);

    [LibraryImport("libc")]
    public static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true)]
    public static partial int unshare(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int ioctl(int fd, nuint request, Span<byte> argument);

    private const nuint SIOCGIFFLAGS = 0x8913;
    private const nuint SIOCSIFFLAGS = 0x8914;
    private const short IFF_UP = 0x1;

    /// <summary>Brings the loopback interface of the calling thread's network namespace up.</summary>
    public static void LoopbackUp()
    {
        var fd = socket(2 /* AF_INET */, 2 /* SOCK_DGRAM */ | SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new IOException($"socket failed: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            // struct ifreq: the name in 16 bytes, then the flags (a short) at the start of a 24-byte union.
            Span<byte> request = stackalloc byte[40];
            request.Clear();
            "lo"u8.CopyTo(request);
            if (ioctl(fd, SIOCGIFFLAGS, request) != 0)
            {
                throw new IOException($"SIOCGIFFLAGS lo failed: errno {Marshal.GetLastPInvokeError()}");
            }

            var flags = System.Buffers.Binary.BinaryPrimitives.ReadInt16LittleEndian(request[16..]);
            System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(request[16..], (short)(flags | IFF_UP));
            if (ioctl(fd, SIOCSIFFLAGS, request) != 0)
            {
                throw new IOException($"SIOCSIFFLAGS lo failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            close(fd);
        }
    }

    private const int F_SETFD = 2;
    private const int AF_UNIX = 1;
    private const int SOCK_STREAM = 1;
    private const int SOCK_CLOEXEC = 0x80000;

    /// <summary>A pipe whose ends are close-on-exec, so that no child inherits it by accident.</summary>
    public static (int Read, int Write) Pipe()
    {
        Span<int> fds = stackalloc int[2];
        if (pipe2(fds, O_CLOEXEC) != 0)
        {
            throw new IOException($"pipe2 failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return (fds[0], fds[1]);
    }

    /// <summary>
    /// The read end of a pipe that already holds <paramref name="data"/> and whose write end is closed:
    /// a child reads it to the end (bubblewrap's --args, --seccomp). The data must fit the pipe (64 KiB).
    /// </summary>
    public static int PipeHolding(ReadOnlySpan<byte> data)
    {
        var (read, write) = Pipe();
        try
        {
            var done = 0;
            while (done < data.Length)
            {
                var written = Native.write(write, data[done..], data.Length - done);
                if (written <= 0)
                {
                    throw new IOException($"writing to a pipe failed: errno {Marshal.GetLastPInvokeError()}");
                }

                done += (int)written;
            }
        }
        catch
        {
            close(read);
            throw;
        }
        finally
        {
            close(write);
        }

        return read;
    }

    /// <summary>A connected pair of stream sockets, both close-on-exec.</summary>
    public static (int Ours, int Theirs) SocketPair()
    {
        Span<int> fds = stackalloc int[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        {
            throw new IOException($"socketpair failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return (fds[0], fds[1]);
    }

    public static void SetInheritable(int fd, bool inheritable)
    {
        if (fcntl(fd, F_SETFD, inheritable ? 0 : 1) != 0)
        {
            throw new IOException($"fcntl(F_SETFD) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }
}
