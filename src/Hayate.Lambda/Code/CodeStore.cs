using System.IO.Compression;
using System.Security.Cryptography;
using Hayate.Kernel.Blobs;
using Hayate.Kernel.Errors;
using Hayate.Sandboxes.Isolation;
using Hayate.Lambda.Functions;

namespace Hayate.Lambda.Code;

/// <summary>A stored deployment package: its hash, its size and where it is unpacked.</summary>
public sealed record StoredCode(string Sha256Hex, long Size, string Directory);

/// <summary>
/// Content-addressed code: zips under blobs/ by SHA-256, unpacked once under code/ by the same
/// hash, so equal packages share one copy and a sandbox start never unzips anything.
/// </summary>
public sealed class CodeStore
{
    private const string BadZip = "Could not unzip uploaded file. Please check your file, then try to upload again.";
    private const string ZipSuffix = ".zip";
    private readonly BlobStore _blobs;
    private readonly string _code;
    private readonly string _opt;
    private readonly Lock _extracting = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _unpackedSizes = new(StringComparer.Ordinal);

    /// <summary>Zips in DATA/blobs; unpacked code and merged layers under <paramref name="unpackDirectory"/> (default: the data directory).</summary>
    public CodeStore(string dataDirectory, string? unpackDirectory = null)
    {
        _blobs = new BlobStore(Path.Combine(dataDirectory, "blobs"));
        _code = Path.Combine(unpackDirectory ?? dataDirectory, "code");
        _opt = Path.Combine(unpackDirectory ?? dataDirectory, "opt");
        Directory.CreateDirectory(_code);
        Directory.CreateDirectory(_opt);
        // Sandboxes read these as uids of their own: whatever the umask, they must be able to.
        SandboxMounts.MakeReadable(_code);
        SandboxMounts.MakeReadable(_opt);
    }

    /// <summary>The bytes a stored zip takes unpacked (what Lambda's 250 MB limit counts).</summary>
    public long UnpackedSize(string sha256Hex) => _unpackedSizes.GetOrAdd(sha256Hex, hex =>
        // Links are skipped, not followed: they point inside the package anyway.
        new DirectoryInfo(DirectoryOf(hex)).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Sum(f => f.Length));

    /// <summary>
    /// The layers' contents merged in order (a later layer's file wins), built once per combination:
    /// mounted read-only at /opt. Built from the stored zips, so a deleted layer version keeps working.
    /// </summary>
    public string MergedLayers(IReadOnlyList<string> layerSha256Hex)
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(string.Join(',', layerSha256Hex))));
        var directory = Path.Combine(_opt, key);
        if (Directory.Exists(directory))
        {
            return directory;
        }

        var temp = Path.Combine(_opt, ".tmp-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp);
        try
        {
            foreach (var sha in layerSha256Hex)
            {
                CopyTree(DirectoryOf(sha), temp);
            }

            SandboxMounts.MakeReadable(temp);
            lock (_extracting)
            {
                if (!Directory.Exists(directory))
                {
                    Directory.Move(temp, directory);
                    temp = null;
                }
            }

            return directory;
        }
        finally
        {
            if (temp is not null && Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    /// <summary>Walks <paramref name="target"/> from <paramref name="directory"/> one component at a time, refusing to pass through a link.</summary>
    private static bool StaysInside(string root, string directory, string target, HashSet<string> links)
    {
        if (target.StartsWith('/'))
        {
            return false;
        }

        var rootWithSlash = root.EndsWith('/') ? root : root + "/";
        var current = directory;
        var parts = target.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (part == ".")
            {
                continue;
            }

            current = part == ".." ? Path.GetDirectoryName(current) ?? "/" : Path.Combine(current, part);
            if (current != root.TrimEnd('/') && !current.StartsWith(rootWithSlash, StringComparison.Ordinal))
            {
                return false;
            }

            if (i < parts.Length - 1 && links.Contains(current))
            {
                return false;
            }
        }

        return true;
    }

    private static void CopyTree(string source, string target)
    {
        foreach (var entry in new DirectoryInfo(source).EnumerateFileSystemInfos())
        {
            var destination = Path.Combine(target, entry.Name);
            // What an earlier layer left here is removed first, never written through: a link left
            // there would send the write wherever it points.
            var existing = new FileInfo(destination);
            var isLink = existing.LinkTarget is not null;
            if (isLink || (entry.LinkTarget is not null && (existing.Exists || Directory.Exists(destination))) ||
                (entry is DirectoryInfo ? existing.Exists : existing.Exists || Directory.Exists(destination)))
            {
                DeleteEntry(destination, isLink);
            }

            if (entry.LinkTarget is { } link)
            {
                File.CreateSymbolicLink(destination, link);
            }
            else if (entry is DirectoryInfo directory)
            {
                Directory.CreateDirectory(destination);
                CopyTree(directory.FullName, destination);
            }
            else
            {
                File.Copy(entry.FullName, destination);
            }
        }
    }

    private static void DeleteEntry(string path, bool isLink)
    {
        if (!isLink && Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
        else
        {
            File.Delete(path);
        }
    }

    /// <summary>Checks, stores and unpacks a zip. Nothing is kept when the zip is refused.</summary>
    public async Task<Result<StoredCode>> PutAsync(byte[] zip, CancellationToken cancellationToken)
    {
        if (zip.Length > Limits.MaxZippedCodeSize)
        {
            return new AwsError("RequestEntityTooLargeException", 413, $"Zipped size must be smaller than {Limits.MaxZippedCodeSize} bytes");
        }

        var hex = BlobStore.KeyOf(zip);
        var directory = Path.Combine(_code, hex);
        if (!Directory.Exists(directory))
        {
            var unpacked = Unpack(zip, directory);
            if (unpacked is not null)
            {
                return unpacked;
            }
        }

        await _blobs.PutAsync(hex, zip, ZipSuffix, cancellationToken);
        return new StoredCode(hex, zip.Length, directory);
    }

    public string ZipPath(string sha256Hex) => _blobs.PathOf(sha256Hex, ZipSuffix);

    /// <summary>The unpacked code of a stored zip; unpacks it again if the directory was removed.</summary>
    public string DirectoryOf(string sha256Hex)
    {
        var directory = Path.Combine(_code, sha256Hex);
        if (!Directory.Exists(directory) && File.Exists(ZipPath(sha256Hex)))
        {
            var error = Unpack(File.ReadAllBytes(ZipPath(sha256Hex)), directory);
            if (error is not null)
            {
                throw new InvalidDataException($"stored code {sha256Hex} cannot be unpacked: {error.Message}");
            }
        }

        return directory;
    }

    /// <summary>Unpacks into a temporary directory and renames it into place; null when all went well.</summary>
    private AwsError? Unpack(byte[] zip, string directory)
    {
        var temp = Path.Combine(_code, ".tmp-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp);
        try
        {
            var error = ExtractChecked(zip, temp);
            if (error is not null)
            {
                return error;
            }

            lock (_extracting)
            {
                if (Directory.Exists(directory))
                {
                    return null;
                }

                SandboxMounts.MakeReadable(temp);
                Directory.Move(temp, directory);
                temp = null;
            }

            return null;
        }
        finally
        {
            if (temp is not null && Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    /// <summary>
    /// Unzips with the checks Lambda makes and a few it should: every entry must stay inside the
    /// target (no "../", no absolute paths, no symlink pointing out), and the bytes actually written
    /// are counted against the unzipped limit, whatever the headers claim.
    /// </summary>
    internal static AwsError? ExtractChecked(byte[] zip, string target)
    {
        var root = Path.GetFullPath(target) + Path.DirectorySeparatorChar;
        long total = 0;
        try
        {
            using var archive = new ZipArchive(new MemoryStream(zip, writable: false), ZipArchiveMode.Read);
            var links = new List<(string Path, string Target)>();
            foreach (var entry in archive.Entries)
            {
                var name = entry.FullName.Replace('\\', '/');
                if (name.Length == 0 || name.StartsWith('/') || name.Contains('\0', StringComparison.Ordinal) ||
                    name.Split('/').Any(part => part == ".."))
                {
                    return LambdaErrors.InvalidParameter($"{BadZip} The entry '{entry.FullName}' would be written outside the code directory.");
                }

                var path = Path.GetFullPath(Path.Combine(root, name));
                if (!path.StartsWith(root, StringComparison.Ordinal) && path + Path.DirectorySeparatorChar != root)
                {
                    return LambdaErrors.InvalidParameter($"{BadZip} The entry '{entry.FullName}' would be written outside the code directory.");
                }

                var mode = (entry.ExternalAttributes >> 16) & 0xFFFF;
                var fileType = mode & 0xF000;
                if (name.EndsWith('/') || fileType == 0x4000)
                {
                    Directory.CreateDirectory(path);
                    continue;
                }

                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                if (fileType == 0xA000)
                {
                    using var reader = new StreamReader(entry.Open());
                    links.Add((path, reader.ReadToEnd()));
                    continue;
                }

                using (var input = entry.Open())
                using (var output = new FileStream(path, FileMode.Create, FileAccess.Write))
                {
                    var buffer = new byte[81920];
                    int read;
                    while ((read = input.Read(buffer)) > 0)
                    {
                        total += read;
                        if (total >= Limits.MaxUnzippedCodeSize)
                        {
                            return LambdaErrors.InvalidParameter($"Unzipped size must be smaller than {Limits.MaxUnzippedCodeSize} bytes");
                        }

                        output.Write(buffer, 0, read);
                    }
                }

                // Keep the execute bits (a custom runtime's bootstrap needs them); always readable.
                var permissions = mode & 0x1FF;
                var unixMode = permissions == 0 ? 0x1A4 : permissions | 0x124;
                File.SetUnixFileMode(path, (UnixFileMode)unixMode);
            }

            // Every link must stay inside, followed as the kernel would: a target may not pass
            // through another link (a chain like `up -> ../..` then `x -> up/../../etc` looks inside
            // when read as text but is not).
            var linkPaths = links.Select(l => Path.GetFullPath(l.Path)).ToHashSet(StringComparer.Ordinal);
            foreach (var (path, linkTarget) in links)
            {
                if (!StaysInside(root, Path.GetDirectoryName(Path.GetFullPath(path))!, linkTarget, linkPaths))
                {
                    return LambdaErrors.InvalidParameter($"{BadZip} The symbolic link '{Path.GetRelativePath(root, path)}' points outside the code directory.");
                }
            }

            foreach (var (path, linkTarget) in links)
            {
                File.CreateSymbolicLink(path, linkTarget);
            }

            return null;
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or ArgumentException or NotSupportedException)
        {
            return LambdaErrors.InvalidParameter(BadZip);
        }
    }
}
