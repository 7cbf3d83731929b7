using System.Runtime.InteropServices;

namespace Hayate.Sandboxes.Networking;

/// <summary>
/// Loads a ruleset with libnftables (the library behind `nft`) into the network namespace of the
/// calling thread: no process to start, and the rules are in place before the namespace has any
/// way out.
/// </summary>
internal static partial class Nftables
{
    private const string Library = "libnftables.so.1";
    private static readonly Lock Gate = new();
    private static readonly Lazy<string?> Missing = new(() =>
        NativeLibrary.TryLoad(Library, out _) ? null : $"{Library} is not installed (apt-get install nftables)");

    /// <summary>Why rules cannot be loaded on this host, or null when they can.</summary>
    public static string? Problem => Missing.Value;

    /// <summary>Loads <paramref name="ruleset"/> (nft syntax) into the calling thread's network namespace.</summary>
    /// <exception cref="IOException">libnftables refused it; the message is nft's own.</exception>
    public static void Load(string ruleset)
    {
        if (Problem is { } problem)
        {
            throw new IOException(problem);
        }

        // One context per load, one load at a time: the library keeps some state process-wide.
        lock (Gate)
        {
            var context = nft_ctx_new(0);
            if (context == 0)
            {
                throw new IOException("nft_ctx_new failed");
            }

            try
            {
                if (nft_ctx_buffer_output(context) != 0 || nft_ctx_buffer_error(context) != 0)
                {
                    throw new IOException("nft_ctx_buffer_output failed");
                }

                if (nft_run_cmd_from_buffer(context, ruleset) != 0)
                {
                    var error = Marshal.PtrToStringUTF8(nft_ctx_get_error_buffer(context))?.Trim();
                    throw new IOException($"nftables refused the sandbox's egress rules: {error}");
                }
            }
            finally
            {
                nft_ctx_free(context);
            }
        }
    }

    [LibraryImport(Library)]
    private static partial nint nft_ctx_new(uint flags);

    [LibraryImport(Library)]
    private static partial void nft_ctx_free(nint context);

    [LibraryImport(Library)]
    private static partial int nft_ctx_buffer_output(nint context);

    [LibraryImport(Library)]
    private static partial int nft_ctx_buffer_error(nint context);

    [LibraryImport(Library)]
    private static partial nint nft_ctx_get_error_buffer(nint context);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int nft_run_cmd_from_buffer(nint context, string buffer);
}
