using System.Security.Cryptography;
using System.Text;

namespace Hayate.Kms.Tests;

public sealed class KeyEnvelopeTests
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);
    private static readonly Guid KeyId = Guid.Parse("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("the plaintext");
    private static readonly Dictionary<string, string> Context = new() { ["function"] = "orders", ["stage"] = "prod" };

    private static byte[] Seal(IReadOnlyDictionary<string, string>? context = null) =>
        KeyEnvelope.Seal(KeyEnvelope.CiphertextBlob, KeyId, Key, Secret, context);

    [Fact]
    public void Seal_ThenOpen_ReturnsThePlaintext()
    {
        var blob = Seal(Context);
        Assert.Equal(Secret, KeyEnvelope.Open(KeyEnvelope.CiphertextBlob, blob, Key, Context));
    }

    [Fact]
    public void Seal_Layout_IsVersionKeyIdNonceTagCiphertext()
    {
        var blob = Seal();
        Assert.Equal(KeyEnvelope.HeaderSize + Secret.Length, blob.Length);
        Assert.Equal(45, KeyEnvelope.HeaderSize);
        Assert.Equal(KeyEnvelope.CiphertextBlob, blob[0]);
        // The key id in RFC 4122 byte order, readable by anyone who knows the UUID text.
        Assert.Equal(Convert.FromHexString("0f1e2d3c4b5a69788796a5b4c3d2e1f0"), blob[1..17]);
        Assert.True(KeyEnvelope.TryReadHeader(blob, out var kind, out var id));
        Assert.Equal(KeyEnvelope.CiphertextBlob, kind);
        Assert.Equal(KeyId, id);
        // The plaintext does not appear in the blob.
        Assert.True(blob.AsSpan().IndexOf(Secret) < 0);
    }

    [Fact]
    public void Seal_Twice_UsesAFreshNonceEachTime()
    {
        var first = Seal();
        var second = Seal();
        Assert.NotEqual(first[17..29], second[17..29]);
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void Open_WithContextInAnotherOrder_Succeeds()
    {
        var blob = Seal(Context);
        var reordered = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["stage"] = "prod", ["function"] = "orders" };
        Assert.Equal(Secret, KeyEnvelope.Open(KeyEnvelope.CiphertextBlob, blob, Key, reordered));
    }

    [Fact]
    public void Open_WithNullOrEmptyContext_AreTheSame()
    {
        Assert.Equal(Secret, KeyEnvelope.Open(KeyEnvelope.CiphertextBlob, Seal(null), Key, new Dictionary<string, string>()));
        Assert.Equal(Secret, KeyEnvelope.Open(KeyEnvelope.CiphertextBlob, Seal(new Dictionary<string, string>()), Key, null));
    }

    public static TheoryData<string, Dictionary<string, string>?> OtherContexts => new()
    {
        { "none", null },
        { "subset", new() { ["function"] = "orders" } },
        { "superset", new() { ["function"] = "orders", ["stage"] = "prod", ["x"] = "y" } },
        { "other value", new() { ["function"] = "orders", ["stage"] = "dev" } },
        { "key case", new() { ["Function"] = "orders", ["stage"] = "prod" } },
        // Length-prefixed pairs: moving characters between key and value is a different context.
        { "shifted boundary", new() { ["functiono"] = "rders", ["stage"] = "prod" } },
    };

    [Theory]
    [MemberData(nameof(OtherContexts))]
    public void Open_WithAnotherContext_Fails(string label, Dictionary<string, string>? context)
    {
        Assert.True(KeyEnvelope.Open(KeyEnvelope.CiphertextBlob, Seal(Context), Key, context) is null, label);
    }

    [Fact]
    public void Open_WithAnyByteAltered_Fails()
    {
        var blob = Seal(Context);
        for (var i = 0; i < blob.Length; i++)
        {
            var altered = blob.ToArray();
            altered[i] ^= 0x01;
            Assert.True(KeyEnvelope.Open(KeyEnvelope.CiphertextBlob, altered, Key, Context) is null, $"byte {i} altered and the blob still opened");
        }
    }

    [Fact]
    public void Open_WithAnotherKeyOrKindOrTruncated_Fails()
    {
        var blob = Seal();
        Assert.Null(KeyEnvelope.Open(KeyEnvelope.CiphertextBlob, blob, RandomNumberGenerator.GetBytes(32), null));
        Assert.Null(KeyEnvelope.Open(KeyEnvelope.SealedKeyMaterial, blob, Key, null));
        Assert.Null(KeyEnvelope.Open(KeyEnvelope.CiphertextBlob, blob.AsSpan(0, blob.Length - 1), Key, null));
        Assert.Null(KeyEnvelope.Open(KeyEnvelope.CiphertextBlob, blob.AsSpan(0, 10), Key, null));
        Assert.False(KeyEnvelope.TryReadHeader(blob.AsSpan(0, 44), out _, out _));
    }

    [Fact]
    public void Open_OfEmptyPlaintext_RoundTrips()
    {
        var blob = KeyEnvelope.Seal(KeyEnvelope.SealedKeyMaterial, KeyId, Key, [], null);
        Assert.Equal(KeyEnvelope.HeaderSize, blob.Length);
        Assert.Equal([], KeyEnvelope.Open(KeyEnvelope.SealedKeyMaterial, blob, Key, null) ?? [0]);
    }
}
