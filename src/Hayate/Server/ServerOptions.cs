using System.Net;
using Microsoft.Extensions.Options;

namespace Hayate.Server;

/// <summary>Where the server listens and keeps its data (section "Server").</summary>
public sealed record ServerOptions
{
    /// <summary>An IP address, or localhost (127.0.0.1).</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>0 picks a free port.</summary>
    public int Port { get; set; } = 4600;

    /// <summary>The SQLite database, code packages, keys and logs.</summary>
    public string DataDirectory { get; set; } = ".hayate";

    /// <summary>Debug detail (sandbox starts and stops, cold-start timings) in the log.</summary>
    public bool Verbose { get; set; }

    public IPAddress Address => IPAddress.Parse(Host == "localhost" ? "127.0.0.1" : Host);
}

/// <summary>Every problem with the server's settings at once, each naming its setting.</summary>
internal sealed class ServerOptionsValidator : IValidateOptions<ServerOptions>
{
    public ValidateOptionsResult Validate(string? name, ServerOptions options)
    {
        var problems = new List<string>();
        if (options.Host != "localhost" && !IPAddress.TryParse(options.Host, out _))
        {
            problems.Add($"Server:Host {options.Host}: must be an IP address to listen on (127.0.0.1, 0.0.0.0, ::1) or localhost");
        }

        if (options.Port is < 0 or > 65535)
        {
            problems.Add($"Server:Port {options.Port}: must be between 0 and 65535 (0 picks a free port)");
        }

        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            problems.Add("Server:DataDirectory: must name a directory");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
