namespace Hayate.Testing;

/// <summary>Where the built executable is, and scratch directories for tests.</summary>
public static class Paths
{
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>hayate.dll built in the same configuration as the tests.</summary>
    public static string HayateDll
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            var path = Path.Combine(RepositoryRoot, "src", "Hayate", "bin", configuration, "net10.0", "hayate.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"build the server first: {path} is missing");
        }
    }

    public static string NewTempDirectory(string prefix)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Hayate.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new DirectoryNotFoundException("Hayate.slnx not found above " + AppContext.BaseDirectory);
    }
}
