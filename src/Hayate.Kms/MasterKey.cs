using System.Security.Cryptography;
using System.Text;

namespace Hayate.Kms;

/// <summary>
/// The server's 256-bit master key: it seals every KMS key's material at rest. Read from a file
/// (32 raw bytes, or their base64 on one line); by default DATA/master.key, created on first start
/// readable by the owner only.
/// </summary>
public sealed class MasterKey
{
    public const string DefaultFileName = "master.key";

    private readonly byte[] _key;

    private MasterKey(byte[] key, string path, IReadOnlyList<string> warnings)
    {
        _key = key;
        Path = path;
        Warnings = warnings;
    }

    /// <summary>The file the key came from.</summary>
    public string Path { get; }

    /// <summary>Problems worth printing at start, such as a file others can read.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>
    /// Loads the configured file, or DATA/master.key, creating that one (mode 0600 from the start) when
    /// it does not exist. A configured file must exist: a missing one is a typo, not a new key.
    /// </summary>
    /// <exception cref="InvalidOperationException">the file is missing or does not hold a 256-bit key.</exception>
    public static MasterKey LoadOrCreate(string? configuredPath, string dataDirectory)
    {
        if (configuredPath is not null)
        {
            var path = System.IO.Path.GetFullPath(configuredPath);
            return File.Exists(path)
                ? Load(path)
                : throw new InvalidOperationException($"--master-key-file {path}: no such file");
        }

        var fallback = System.IO.Path.Combine(dataDirectory, DefaultFileName);
        if (!File.Exists(fallback))
        {
            TryCreate(fallback);
        }

        return Load(fallback);
    }

    /// <summary>For tests and tools: a key held in memory only.</summary>
    public static MasterKey FromBytes(byte[] key) =>
        key.Length == KeyEnvelope.KeySize ? new MasterKey(key.ToArray(), "(memory)", []) : throw new ArgumentException("a master key is 32 bytes", nameof(key));

    public byte[] Seal(Guid keyId, ReadOnlySpan<byte> material) =>
        KeyEnvelope.Seal(KeyEnvelope.SealedKeyMaterial, keyId, _key, material, null);

    /// <summary>The key material, or null when this master key did not seal it (or it was altered).</summary>
    public byte[]? Unseal(Guid keyId, byte[] sealedMaterial) =>
        KeyEnvelope.TryReadHeader(sealedMaterial, out _, out var sealedFor) && sealedFor == keyId
            ? KeyEnvelope.Open(KeyEnvelope.SealedKeyMaterial, sealedMaterial, _key, null)
            : null;

    private static void TryCreate(string path)
    {
        var key = RandomNumberGenerator.GetBytes(KeyEnvelope.KeySize);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            // Set at creation (open with O_CREAT and this mode), so the key is never readable by others, not even briefly.
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        try
        {
            using var stream = new FileStream(path, options);
            stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(key) + "\n"));
            stream.Flush(flushToDisk: true);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created it first; use theirs.
        }
    }

    private static MasterKey Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var key = bytes.Length == KeyEnvelope.KeySize ? bytes : FromBase64(bytes);
        if (key is null)
        {
            throw new InvalidOperationException($"master key file {path}: must hold 32 bytes, raw or base64 (for example `openssl rand -base64 32 > {path}`)");
        }

        var warnings = new List<string>();
        var mode = File.GetUnixFileMode(path);
        if ((mode & (UnixFileMode.GroupRead | UnixFileMode.OtherRead | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0)
        {
            warnings.Add($"master key file {path} is readable or writable by other users; run chmod 600 on it");
        }

        return new MasterKey(key, path, warnings);
    }

    private static byte[]? FromBase64(byte[] bytes)
    {
        var text = Encoding.ASCII.GetString(bytes).Trim();
        var buffer = new byte[KeyEnvelope.KeySize + 3];
        return Convert.TryFromBase64String(text, buffer, out var written) && written == KeyEnvelope.KeySize
            ? buffer[..KeyEnvelope.KeySize]
            : null;
    }
}
