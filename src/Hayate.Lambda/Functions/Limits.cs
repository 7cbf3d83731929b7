namespace Hayate.Lambda.Functions;

/// <summary>Lambda's quotas, as the service documents and enforces them.</summary>
public static class Limits
{
    public const int DefaultMemorySize = 128;
    public const int MinMemorySize = 128;
    public const int MaxMemorySize = 10240;
    public const int DefaultTimeout = 3;
    public const int MinTimeout = 1;
    public const int MaxTimeout = 900;
    public const int MinEphemeralStorage = 512;
    public const int MaxEphemeralStorage = 10240;
    public const int MaxDescriptionLength = 256;
    public const int MaxHandlerLength = 128;
    public const int MaxFunctionNameLength = 64;

    /// <summary>Unzipped code (function plus layers).</summary>
    public const long MaxUnzippedCodeSize = 262_144_000;

    /// <summary>A zip uploaded directly in the request body (base64 adds a third on the wire).</summary>
    public const long MaxZippedCodeSize = 52_428_800;

    /// <summary>Largest CreateFunction / UpdateFunctionCode request body Lambda accepts.</summary>
    public const long MaxCodeRequestSize = 69_905_067;

    public const int MaxSyncPayload = 6 * 1024 * 1024;
    public const int MaxAsyncPayload = 256 * 1024;

    /// <summary>Total size of all environment variables, keys and values.</summary>
    public const int MaxEnvironmentSize = 4 * 1024;

    public const long TotalCodeSize = 80_530_636_800;
}
