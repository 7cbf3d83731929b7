using System.Globalization;

namespace Hayate.Core.Functions;

/// <summary>Lambda's timestamp format for LastModified: 2024-05-01T12:00:00.000+0000.</summary>
public static class AwsTime
{
    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);
}
