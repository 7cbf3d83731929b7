namespace Hayate.Testing;

/// <summary>Function names unique to one test, so tests share a server without meeting.</summary>
public static class Names
{
    public static string New(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
