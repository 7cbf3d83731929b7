using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Hayate.Lambda.Code;

namespace Hayate.Lambda.Tests;

public sealed class CodeStoreTests : IDisposable
{
    private const int RegularFile = 0x8000;
    private const int SymbolicLink = 0xA000;

    /// <summary>A zip of 270,000,000 zero bytes: past the 262,144,000-byte unzipped limit, a few hundred KB zipped.</summary>
    private static readonly Lazy<byte[]> Bomb = new(() =>
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var entry = archive.CreateEntry("zeros.bin", CompressionLevel.SmallestSize);
            using var stream = entry.Open();
            var chunk = new byte[1 << 20];
            long left = 270_000_000;
            while (left > 0)
            {
                var n = (int)Math.Min(chunk.Length, left);
                stream.Write(chunk, 0, n);
                left -= n;
            }
        }

        return buffer.ToArray();
    });

    // root/ holds data/ so anything escaping data/ (or data/code/) is still inside root/ where the tests look for it.
    private readonly string _root = Path.Combine(Path.GetTempPath(), "hayate-codestore-" + Guid.NewGuid().ToString("N"));

    public CodeStoreTests()
    {
        Directory.CreateDirectory(DataDirectory);
    }

    private string DataDirectory => Path.Combine(_root, "data");

    private string CodeDirectory => Path.Combine(DataDirectory, "code");

    private string BlobDirectory => Path.Combine(DataDirectory, "blobs");

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static byte[] ZipOf(params (string Name, string Content, int Mode)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content, mode) in entries)
            {
                var entry = archive.CreateEntry(name);
                entry.ExternalAttributes = mode << 16;
                using var stream = entry.Open();
                stream.Write(Encoding.UTF8.GetBytes(content));
            }
        }

        return buffer.ToArray();
    }

    private async Task AssertRefusedAndNothingKeptAsync(byte[] zip, string? messagePart = null)
    {
        var store = new CodeStore(DataDirectory);
        var result = await store.PutAsync(zip, TestContext.Current.CancellationToken);
        Assert.False(result.Ok, "the zip was accepted");
        Assert.Equal("InvalidParameterValueException", result.Error.Type);
        Assert.Equal(400, result.Error.Status);
        if (messagePart is not null)
        {
            Assert.Contains(messagePart, result.Error.Message, StringComparison.Ordinal);
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(CodeDirectory));
        Assert.Empty(Directory.EnumerateFileSystemEntries(BlobDirectory));
        var escaped = Directory.EnumerateFileSystemEntries(_root, "evil*", SearchOption.AllDirectories).ToList();
        Assert.True(escaped.Count == 0, "written outside: " + string.Join(", ", escaped));
    }

    [Fact]
    public async Task PutAsync_GoodZip_UnpacksFilesKeepsExecBitAndStoresTheBlob()
    {
        var zip = ZipOf(
            ("app.py", "print('hi')\n", RegularFile | 0x1A4),
            ("bin/bootstrap", "#!/bin/sh\necho hi\n", RegularFile | 0x1ED),
            ("pkg/sub/data.txt", "nested", RegularFile | 0x1A4),
            ("noperm.txt", "zero mode", 0));
        var store = new CodeStore(DataDirectory);
        var result = await store.PutAsync(zip, TestContext.Current.CancellationToken);

        Assert.True(result.Ok, result.Error?.Message);
        var hex = Convert.ToHexStringLower(SHA256.HashData(zip));
        Assert.Equal(hex, result.Value.Sha256Hex);
        Assert.Equal(zip.Length, result.Value.Size);
        Assert.Equal(Path.Combine(CodeDirectory, hex), result.Value.Directory);

        var dir = result.Value.Directory;
        Assert.Equal("print('hi')\n", await File.ReadAllTextAsync(Path.Combine(dir, "app.py"), TestContext.Current.CancellationToken));
        Assert.Equal("nested", await File.ReadAllTextAsync(Path.Combine(dir, "pkg/sub/data.txt"), TestContext.Current.CancellationToken));
        Assert.Equal("zero mode", await File.ReadAllTextAsync(Path.Combine(dir, "noperm.txt"), TestContext.Current.CancellationToken));

        var bootstrap = File.GetUnixFileMode(Path.Combine(dir, "bin/bootstrap"));
        Assert.True(bootstrap.HasFlag(UnixFileMode.UserExecute), $"bootstrap lost its exec bit: {bootstrap}");
        Assert.True(bootstrap.HasFlag(UnixFileMode.OtherExecute), $"bootstrap lost its exec bit: {bootstrap}");
        var app = File.GetUnixFileMode(Path.Combine(dir, "app.py"));
        Assert.False(app.HasFlag(UnixFileMode.UserExecute), $"app.py became executable: {app}");
        Assert.True(app.HasFlag(UnixFileMode.OtherRead), $"app.py is not world-readable: {app}");
        Assert.True(File.GetUnixFileMode(Path.Combine(dir, "noperm.txt")).HasFlag(UnixFileMode.UserRead));

        Assert.Equal(zip, await File.ReadAllBytesAsync(store.ZipPath(hex), TestContext.Current.CancellationToken));
        // Only the final directory: no temporary extraction directory left behind.
        Assert.Equal(hex, Path.GetFileName(Assert.Single(Directory.EnumerateFileSystemEntries(CodeDirectory))));
    }

    [Fact]
    public async Task PutAsync_SameZipTwice_SharesOneCopy()
    {
        var zip = ZipOf(("app.py", "x = 1\n", RegularFile | 0x1A4));
        var store = new CodeStore(DataDirectory);
        var first = await store.PutAsync(zip, TestContext.Current.CancellationToken);
        var second = await store.PutAsync(zip, TestContext.Current.CancellationToken);
        Assert.True(first.Ok);
        Assert.True(second.Ok);
        Assert.Equal(first.Value.Directory, second.Value.Directory);
        Assert.Single(Directory.EnumerateFileSystemEntries(CodeDirectory));
        Assert.Single(Directory.EnumerateFileSystemEntries(BlobDirectory));
    }

    [Fact]
    public async Task PutAsync_ConcurrentSameZip_AllSucceedWithOneDirectory()
    {
        var zip = ZipOf(("app.py", "x = 2\n", RegularFile | 0x1A4), ("b.txt", new string('b', 100_000), RegularFile | 0x1A4));
        var store = new CodeStore(DataDirectory);
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => store.PutAsync(zip, TestContext.Current.CancellationToken))));
        Assert.All(results, r => Assert.True(r.Ok, r.Error?.Message));
        Assert.Single(Directory.EnumerateFileSystemEntries(CodeDirectory));
        Assert.Equal(100_000, new FileInfo(Path.Combine(results[0].Value!.Directory, "b.txt")).Length);
    }

    [Fact]
    public async Task PutAsync_SymlinkInsideThePackage_IsKeptAsALink()
    {
        var zip = ZipOf(("real.txt", "target", RegularFile | 0x1A4), ("link.txt", "real.txt", SymbolicLink | 0x1FF));
        var store = new CodeStore(DataDirectory);
        var result = await store.PutAsync(zip, TestContext.Current.CancellationToken);
        Assert.True(result.Ok, result.Error?.Message);
        var link = new FileInfo(Path.Combine(result.Value.Directory, "link.txt"));
        Assert.Equal("real.txt", link.LinkTarget);
        Assert.Equal("target", await File.ReadAllTextAsync(link.FullName, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task DirectoryOf_CodeDirectoryRemoved_UnpacksAgainFromTheBlob()
    {
        var zip = ZipOf(("app.py", "again\n", RegularFile | 0x1A4));
        var store = new CodeStore(DataDirectory);
        var result = await store.PutAsync(zip, TestContext.Current.CancellationToken);
        Assert.True(result.Ok);
        Directory.Delete(result.Value.Directory, recursive: true);

        var dir = new CodeStore(DataDirectory).DirectoryOf(result.Value.Sha256Hex);
        Assert.Equal("again\n", await File.ReadAllTextAsync(Path.Combine(dir, "app.py"), TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("../evil.py")]
    [InlineData("../../evil.py")]
    [InlineData("../../../evil.py")]
    [InlineData("ok/../../evil.py")]
    [InlineData("..\\evil.py")]
    public async Task PutAsync_ZipSlipEntry_IsRefusedAndNothingKept(string entry)
    {
        var zip = ZipOf(("app.py", "fine", RegularFile | 0x1A4), (entry, "pwned", RegularFile | 0x1A4));
        await AssertRefusedAndNothingKeptAsync(zip, "outside");
    }

    [Fact]
    public async Task PutAsync_AbsolutePathEntry_IsRefusedAndNothingKept()
    {
        var target = Path.Combine(_root, "evil-absolute");
        var zip = ZipOf(("app.py", "fine", RegularFile | 0x1A4), (target, "pwned", RegularFile | 0x1A4));
        await AssertRefusedAndNothingKeptAsync(zip, "outside");
        Assert.False(File.Exists(target));
        await AssertRefusedAndNothingKeptAsync(ZipOf(("/etc/evil", "pwned", RegularFile | 0x1A4)));
        Assert.False(File.Exists("/etc/evil"));
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("/etc/passwd")]
    [InlineData("sub/../../..")]
    public async Task PutAsync_SymlinkPointingOutside_IsRefusedAndNothingKept(string linkTarget)
    {
        // 0xA1FF: a symbolic link with mode 0777, as `zip --symlinks` stores it.
        var zip = ZipOf(("app.py", "fine", RegularFile | 0x1A4), ("evil-link", linkTarget, 0xA1FF));
        await AssertRefusedAndNothingKeptAsync(zip, "symbolic link");
    }

    [Fact]
    public async Task PutAsync_SymlinkOutsideThenFileThroughIt_IsRefusedAndNothingWrittenThere()
    {
        // A link to a folder outside, then an entry written through that link.
        var outside = Path.Combine(_root, "outside");
        Directory.CreateDirectory(outside);
        var zip = ZipOf(("dir", outside, 0xA1FF), ("dir/evil.py", "pwned", RegularFile | 0x1A4));
        var store = new CodeStore(DataDirectory);
        var result = await store.PutAsync(zip, TestContext.Current.CancellationToken);
        Assert.False(result.Ok);
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        Assert.Empty(Directory.EnumerateFileSystemEntries(CodeDirectory));
    }

    [Fact]
    public async Task PutAsync_LinkChainThatLooksInsideButLeadsOut_IsRefused()
    {
        // Read as text each target stays inside; followed on disk, `x` passes through the link
        // `up` (two levels up) and lands outside the package.
        var zip = ZipOf(
            ("a/b/app.py", "fine", RegularFile | 0x1A4),
            ("a/b/up", "../..", 0xA1FF),
            ("a/b/x", "up/../../outside", 0xA1FF));
        await AssertRefusedAndNothingKeptAsync(zip, "symbolic link");
    }

    [Fact]
    public async Task MergedLayers_ALaterLayerNeverWritesThroughAnEarlierLayersLink()
    {
        var outside = Path.Combine(_root, "outside");
        Directory.CreateDirectory(outside);
        var store = new CodeStore(DataDirectory);
        var token = TestContext.Current.CancellationToken;
        // Layer 1: python -> a folder inside it (allowed); layer 2: a real python/ folder with a file.
        var first = await store.PutAsync(ZipOf(("lib/keep.py", "1", RegularFile | 0x1A4), ("python", "lib", 0xA1FF)), token);
        var second = await store.PutAsync(ZipOf(("python/mod.py", "2", RegularFile | 0x124)), token);
        Assert.True(first.Ok);
        Assert.True(second.Ok);

        var merged = store.MergedLayers([first.Value.Sha256Hex, second.Value.Sha256Hex]);
        Assert.Null(new DirectoryInfo(Path.Combine(merged, "python")).LinkTarget);
        Assert.Equal("2", File.ReadAllText(Path.Combine(merged, "python", "mod.py")));
        Assert.False(File.Exists(Path.Combine(merged, "lib", "mod.py")));
        Assert.False(File.Exists(Path.Combine(first.Value.Directory, "lib", "mod.py")));

        // A read-only file of an earlier layer is replaced, not written into.
        var third = await store.PutAsync(ZipOf(("python/mod.py", "3", RegularFile | 0x1A4)), token);
        Assert.True(third.Ok);
        var again = store.MergedLayers([second.Value.Sha256Hex, third.Value.Sha256Hex]);
        Assert.Equal("3", File.ReadAllText(Path.Combine(again, "python", "mod.py")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
    }

    [Fact]
    public async Task PutAsync_NotAZip_IsRefusedAndNothingKept()
    {
        await AssertRefusedAndNothingKeptAsync(Encoding.UTF8.GetBytes("this is not a zip file at all"), "Could not unzip");
        await AssertRefusedAndNothingKeptAsync([]);
        var good = ZipOf(("app.py", new string('x', 10_000), RegularFile | 0x1A4));
        await AssertRefusedAndNothingKeptAsync(good[..(good.Length / 2)]);
    }

    [Fact]
    public async Task PutAsync_ZipBomb_IsRefusedForUnzippedSizeAndNothingKept()
    {
        var bomb = Bomb.Value;
        Assert.True(bomb.Length < 1_000_000, $"bomb is {bomb.Length} bytes");
        await AssertRefusedAndNothingKeptAsync(bomb, "Unzipped size");
    }

    [Fact]
    public async Task PutAsync_ManySmallEntriesPastTheLimit_IsRefused()
    {
        // The limit counts all entries together, not each one.
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            var chunk = new byte[1 << 20];
            for (var i = 0; i < 27; i++)
            {
                var entry = archive.CreateEntry($"part{i}.bin", CompressionLevel.SmallestSize);
                using var stream = entry.Open();
                for (var j = 0; j < 10; j++)
                {
                    stream.Write(chunk);
                }
            }
        }

        await AssertRefusedAndNothingKeptAsync(buffer.ToArray(), "Unzipped size");
    }

    [Fact]
    public async Task PutAsync_RefusedThenGood_StoresOnlyTheGoodOne()
    {
        var store = new CodeStore(DataDirectory);
        var bad = await store.PutAsync(ZipOf(("../evil.py", "x", RegularFile | 0x1A4)), TestContext.Current.CancellationToken);
        Assert.False(bad.Ok);
        var good = await store.PutAsync(ZipOf(("app.py", "ok", RegularFile | 0x1A4)), TestContext.Current.CancellationToken);
        Assert.True(good.Ok);
        Assert.Single(Directory.EnumerateFileSystemEntries(CodeDirectory));
        Assert.Single(Directory.EnumerateFileSystemEntries(BlobDirectory));
    }
}
