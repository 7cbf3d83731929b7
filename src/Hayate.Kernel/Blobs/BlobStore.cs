using System.Security.Cryptography;

namespace Hayate.Kernel.Blobs;

/// <summary>
/// Content-addressed files in one directory, named by the SHA-256 of their bytes and a suffix
/// (`HEX.zip`): equal contents share one file, a file is written once, fsync'd and renamed into
/// place, so a reader never sees half of one and a crash leaves no torn file behind.
/// </summary>
public sealed class BlobStore
{
    private readonly string _directory;

    public BlobStore(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
    }

    /// <summary>Lowercase hex of the SHA-256 of <paramref name="bytes"/>: a blob's key.</summary>
    public static string KeyOf(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    public string PathOf(string key, string suffix) => Path.Combine(_directory, key + suffix);

    public bool Exists(string key, string suffix) => File.Exists(PathOf(key, suffix));

    /// <summary>Stores <paramref name="bytes"/> under <paramref name="key"/> (their <see cref="KeyOf"/>) unless already there; returns the path.</summary>
    public async Task<string> PutAsync(string key, ReadOnlyMemory<byte> bytes, string suffix, CancellationToken cancellationToken)
    {
        var path = PathOf(key, suffix);
        if (File.Exists(path))
        {
            return path;
        }

        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, FileOptions.Asynchronous))
        {
            await file.WriteAsync(bytes, cancellationToken);
            file.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
        return path;
    }
}
