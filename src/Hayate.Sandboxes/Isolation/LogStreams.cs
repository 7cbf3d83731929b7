namespace Hayate.Sandboxes.Isolation;

/// <summary>Lambda's log stream names: 2024/05/01/[$LATEST]0123456789abcdef0123456789abcdef.</summary>
public static class LogStreams
{
    public static string For(string version, DateTimeOffset now) => $"{now.UtcDateTime:yyyy'/'MM'/'dd}/[{version}]{Guid.NewGuid():N}";
}
