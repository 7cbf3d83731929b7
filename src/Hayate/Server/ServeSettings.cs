namespace Hayate.Server;

/// <summary>What `hayate serve` was asked for; every field has a flag and a default.</summary>
public sealed record ServeSettings
{
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 4600;
    public string DataDirectory { get; init; } = ".hayate";
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);
    public string Isolation { get; init; } = "auto";
    public int ConcurrencyLimit { get; init; } = 1000;
    public string Region { get; init; } = "us-east-1";
    public bool Verbose { get; init; }

    /// <summary>The delay before an asynchronous invocation's first retry; the second waits twice as long.</summary>
    public TimeSpan AsyncRetryDelay { get; init; } = TimeSpan.FromMinutes(1);
    /// <summary>The file holding the KMS master key; null means DATA/master.key, created on first start.</summary>
    public string? MasterKeyFile { get; init; }

    /// <summary>Every problem at once, each naming the flag to change.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Port is < 0 or > 65535)
        {
            problems.Add($"--port {Port}: must be between 0 and 65535 (0 picks a free port)");
        }

        if (IdleTimeout <= TimeSpan.Zero)
        {
            problems.Add("--idle-timeout: must be more than 0 seconds");
        }

        if (Isolation is not ("auto" or "bwrap" or "process"))
        {
            problems.Add($"--isolation {Isolation}: must be auto, bwrap or process");
        }

        if (AsyncRetryDelay < TimeSpan.Zero)
        {
            problems.Add("--async-retry-delay: must be 0 seconds or more");
        }

        if (ConcurrencyLimit < 1)
        {
            problems.Add("--concurrency: must be at least 1");
        }

        if (MasterKeyFile is not null && !File.Exists(MasterKeyFile))
        {
            problems.Add($"--master-key-file {MasterKeyFile}: no such file (leave the option out to use DATA/master.key, created on first start)");
        }

        return problems;
    }
}
