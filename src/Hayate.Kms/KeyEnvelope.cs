using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Hayate.Kms;

/// <summary>
/// The AES-256-GCM framing of everything Hayate's key service seals: KMS ciphertext blobs (under a
/// KMS key) and KMS key material at rest (under the master key). Pure computation, no I/O.
/// </summary>
/// <remarks>
/// Layout, 45 bytes of header then the ciphertext, as long as the plaintext:
/// <code>
///   [0]      kind and version (0x01 ciphertext blob v1, 0x81 sealed key material v1)
///   [1..17)  the KMS key id, a UUID in RFC 4122 (big-endian) byte order
///   [17..29) the 96-bit nonce, random per seal
///   [29..45) the 128-bit GCM tag
///   [45..)   the ciphertext
/// </code>
/// The associated data is bytes [0..17) followed by the canonical encryption context, so changing the
/// kind, the key id or the context (any member, in any order) makes the blob fail to open.
/// Canonical context: pairs sorted by key (ordinal), each as 4-byte big-endian lengths and UTF-8 bytes of key and value.
/// </remarks>
public static class KeyEnvelope
{
    public const byte CiphertextBlob = 0x01;
    public const byte SealedKeyMaterial = 0x81;
    public const int KeySize = 32;
    public const int HeaderSize = 1 + IdSize + NonceSize + TagSize;

    private const int IdSize = 16;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int IdOffset = 1;
    private const int NonceOffset = IdOffset + IdSize;
    private const int TagOffset = NonceOffset + NonceSize;

    public static byte[] Seal(byte kind, Guid keyId, ReadOnlySpan<byte> key, ReadOnlySpan<byte> plaintext, IReadOnlyDictionary<string, string>? context)
    {
        if (key.Length != KeySize)
        {
            throw new ArgumentException($"keys are {KeySize} bytes", nameof(key));
        }

        var blob = new byte[HeaderSize + plaintext.Length];
        blob[0] = kind;
        keyId.TryWriteBytes(blob.AsSpan(IdOffset, IdSize), bigEndian: true, out _);
        RandomNumberGenerator.Fill(blob.AsSpan(NonceOffset, NonceSize));
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(blob.AsSpan(NonceOffset, NonceSize), plaintext, blob.AsSpan(HeaderSize), blob.AsSpan(TagOffset, TagSize), AssociatedData(blob, context));
        return blob;
    }

    /// <summary>The kind and key id a blob claims, before anything is verified; false when it is too short to be one.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> blob, out byte kind, out Guid keyId)
    {
        if (blob.Length < HeaderSize)
        {
            kind = 0;
            keyId = Guid.Empty;
            return false;
        }

        kind = blob[0];
        keyId = new Guid(blob.Slice(IdOffset, IdSize), bigEndian: true);
        return true;
    }

    /// <summary>The plaintext, or null when the blob is not of <paramref name="kind"/>, was altered, or the key or context differ.</summary>
    public static byte[]? Open(byte kind, ReadOnlySpan<byte> blob, ReadOnlySpan<byte> key, IReadOnlyDictionary<string, string>? context)
    {
        if (blob.Length < HeaderSize || blob[0] != kind || key.Length != KeySize)
        {
            return null;
        }

        var plaintext = new byte[blob.Length - HeaderSize];
        using var aes = new AesGcm(key, TagSize);
        try
        {
            aes.Decrypt(blob.Slice(NonceOffset, NonceSize), blob[HeaderSize..], blob.Slice(TagOffset, TagSize), plaintext, AssociatedData(blob, context));
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }

    private static byte[] AssociatedData(ReadOnlySpan<byte> blob, IReadOnlyDictionary<string, string>? context)
    {
        var pairs = context is null ? [] : context.OrderBy(p => p.Key, StringComparer.Ordinal).ToArray();
        var size = NonceOffset;
        foreach (var (k, v) in pairs)
        {
            size += 8 + Encoding.UTF8.GetByteCount(k) + Encoding.UTF8.GetByteCount(v);
        }

        var data = new byte[size];
        blob[..NonceOffset].CopyTo(data);
        var at = NonceOffset;
        foreach (var (k, v) in pairs)
        {
            at += Write(data.AsSpan(at), k);
            at += Write(data.AsSpan(at), v);
        }

        return data;
    }

    private static int Write(Span<byte> target, string text)
    {
        var length = Encoding.UTF8.GetBytes(text, target[4..]);
        BinaryPrimitives.WriteInt32BigEndian(target, length);
        return 4 + length;
    }
}
