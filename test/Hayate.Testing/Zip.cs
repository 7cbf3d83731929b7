using System.IO.Compression;
using System.Text;

namespace Hayate.Testing;

/// <summary>Builds deployment packages in memory, with Unix modes (0755 makes a bootstrap executable).</summary>
public static class Zip
{
    public static byte[] Of(params (string Name, string Content)[] files) => Of(files.Select(f => (f.Name, f.Content, Mode: f.Name.EndsWith("bootstrap", StringComparison.Ordinal) ? 0x1ED : 0x1A4)).ToArray());

    public static byte[] Of(params (string Name, string Content, int Mode)[] files)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content, mode) in files)
            {
                var entry = archive.CreateEntry(name);
                entry.ExternalAttributes = (0x8000 | mode) << 16;
                using var stream = entry.Open();
                stream.Write(Encoding.UTF8.GetBytes(content));
            }
        }

        return buffer.ToArray();
    }

    public static string WriteTemp(byte[] zip)
    {
        var path = Path.Combine(Paths.NewTempDirectory("hayate-zip"), "code.zip");
        File.WriteAllBytes(path, zip);
        return path;
    }
}
