using System.Security.Cryptography;
using System.Text;

namespace Hayate.Sandboxes.Isolation;

/// <summary>
/// Where the directories mounted into sandboxes live: unpacked code, merged layers and the staged
/// runtimes, all caches rebuilt from the data directory. bubblewrap mounts them as the sandbox's own
/// unprivileged uid, so every directory on the way must be traversable by others. A data directory
/// that is not (under /root, say, or made 0700) keeps its blobs and database; the caches then go
/// to /var/tmp/hayate-HASH instead, with the permissions they need.
/// </summary>
public sealed record SandboxMounts(string Root)
{
    private const UnixFileMode Traversable = UnixFileMode.OtherExecute;

    private const UnixFileMode Readable =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public string Code => Path.Combine(Root, "code");

    public string Layers => Path.Combine(Root, "opt");

    public string Runtimes => Path.Combine(Root, "runtime");

    /// <summary>
    /// The data directory itself when sandboxes can reach into it (or run as the server's own user,
    /// not as root), else a directory of /var/tmp named after it.
    /// </summary>
    public static SandboxMounts For(string dataDirectory)
    {
        var data = Path.GetFullPath(dataDirectory);
        if (Native.geteuid() != 0 || TraversableByOthers(data))
        {
            return new SandboxMounts(data);
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(data)))[..12];
        var root = Path.Combine("/var/tmp", "hayate-" + hash);
        Directory.CreateDirectory(root);
        // Owned by root; others may pass through (to what is mounted) but not list it.
        File.SetUnixFileMode(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | Traversable | UnixFileMode.GroupExecute);
        return new SandboxMounts(root);
    }

    /// <summary>True when every directory from / to <paramref name="path"/> lets others through.</summary>
    public static bool TraversableByOthers(string path)
    {
        for (var dir = new DirectoryInfo(path); dir is not null; dir = dir.Parent)
        {
            if (dir.Exists && (dir.UnixFileMode & Traversable) == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Makes a directory tree readable (dirs 0755; with <paramref name="files"/>, files a+r too) by the sandboxes' uids, whatever the umask made it.</summary>
    public static void MakeReadable(string directory, bool files = false)
    {
        var walk = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint };
        File.SetUnixFileMode(directory, Readable);
        foreach (var sub in Directory.EnumerateDirectories(directory, "*", walk))
        {
            File.SetUnixFileMode(sub, Readable);
        }

        if (files)
        {
            foreach (var file in Directory.EnumerateFiles(directory, "*", walk))
            {
                File.SetUnixFileMode(file, File.GetUnixFileMode(file) | UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }
        }
    }
}
