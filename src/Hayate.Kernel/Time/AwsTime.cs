using System.Globalization;

namespace Hayate.Kernel.Time;

/// <summary>Lambda's timestamp format for LastModified (2024-05-01T12:00:00.000+0000), and epoch-second timestamps as the JSON protocols send them.</summary>
public static class AwsTime
{
    /// <summary>The largest epoch second a DateTimeOffset holds (9999-12-31T23:59:59Z).</summary>
    private const double MaxEpochSeconds = 253_402_300_799;

    /// <summary>An epoch-seconds timestamp (fractions are milliseconds); null when it is not a time at all (NaN, negative, past year 9999).</summary>
    public static DateTimeOffset? FromEpochSeconds(double seconds) =>
        double.IsFinite(seconds) && seconds is >= 0 and <= MaxEpochSeconds ? DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000)) : null;

    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+0000'", CultureInfo.InvariantCulture);

    /// <summary>ISO 8601 in UTC with milliseconds and "Z" (2024-05-01T12:00:00.000Z), as destination and failure records carry it.</summary>
    public static string Iso(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
