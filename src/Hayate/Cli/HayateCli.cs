using System.CommandLine;
using Hayate.Server;

namespace Hayate.Cli;

/// <summary>
/// The `hayate` command line. Machine output (JSON, payloads) goes to stdout, human text to stderr.
/// Exit codes: 0 success; 1 the function returned an error; 2 bad usage or the API refused the call;
/// 3 the server cannot be reached; 4 the server could not start.
/// </summary>
public static class HayateCli
{
    public const int Ok = 0;
    public const int FunctionError = 1;
    public const int Refused = 2;
    public const int Unreachable = 3;
    public const int StartFailed = 4;

    private const string ExitCodes = "Exit codes: 0 success, 1 the function returned an error, 2 bad usage or the API refused the call, 3 the server cannot be reached, 4 the server could not start.";

    public static RootCommand Build()
    {
        var root = new RootCommand($"Hayate: a self-hosted serverless platform that speaks the AWS Lambda API. {ExitCodes}");
        root.Subcommands.Add(Serve());
        root.Subcommands.Add(ClientCommands.Invoke());
        root.Subcommands.Add(ClientCommands.Deploy());
        root.Subcommands.Add(ClientCommands.Logs());
        return root;
    }

    private static Command Serve()
    {
        var host = new Option<string>("--host") { Description = "Address to listen on.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port", "-p") { Description = "Port to listen on (0 picks a free one).", DefaultValueFactory = _ => 4600 };
        var data = new Option<string>("--data", "-d") { Description = "Data directory: the SQLite database, code packages and logs.", DefaultValueFactory = _ => ".hayate" };
        var idle = new Option<double>("--idle-timeout") { Description = "Seconds an idle sandbox stays warm before it is stopped.", DefaultValueFactory = _ => 300 };
        var isolation = new Option<string>("--isolation") { Description = "auto (bubblewrap when installed), bwrap (require it) or process (no isolation).", DefaultValueFactory = _ => "auto" };
        var concurrency = new Option<int>("--concurrency") { Description = "Account concurrency limit: invocations running at once.", DefaultValueFactory = _ => 1000 };
        var region = new Option<string>("--region") { Description = "Region used in ARNs.", DefaultValueFactory = _ => "us-east-1" };
        var masterKeyFile = new Option<string?>("--master-key-file") { Description = "File holding the 256-bit master key that encrypts KMS key material at rest (32 raw bytes or their base64). Default: DATA/master.key, created on first start readable by its owner only." };
        var asyncRetryDelay = new Option<double>("--async-retry-delay") { Description = "Seconds before an asynchronous invocation's first retry; the second waits twice as long (Lambda: about 60, then 120).", DefaultValueFactory = _ => 60 };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log sandbox starts and stops and other debug detail to stderr." };
        var command = new Command("serve", $"Run the Hayate server (Lambda API on http://HOST:PORT). {ExitCodes}")
        {
            host, port, data, idle, isolation, concurrency, region, asyncRetryDelay, verbose, masterKeyFile,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new ServeSettings
            {
                Host = parse.GetValue(host)!,
                Port = parse.GetValue(port),
                DataDirectory = parse.GetValue(data)!,
                IdleTimeout = TimeSpan.FromSeconds(parse.GetValue(idle)),
                Isolation = parse.GetValue(isolation)!,
                ConcurrencyLimit = parse.GetValue(concurrency),
                Region = parse.GetValue(region)!,
                Verbose = parse.GetValue(verbose),
                AsyncRetryDelay = TimeSpan.FromSeconds(parse.GetValue(asyncRetryDelay)),
                MasterKeyFile = parse.GetValue(masterKeyFile),
            };
            var problems = settings.Validate();
            if (problems.Count > 0)
            {
                foreach (var problem in problems)
                {
                    await Console.Error.WriteLineAsync($"hayate serve: {problem}");
                }

                return Refused;
            }

            try
            {
                return await HayateServer.RunAsync(settings, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException or Microsoft.Data.Sqlite.SqliteException)
            {
                await Console.Error.WriteLineAsync($"hayate serve: cannot start: {ex.Message}");
                if (ex is IOException && ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    await Console.Error.WriteLineAsync("hayate serve: another process uses that port; pick another with --port");
                }

                return StartFailed;
            }
        });
        return command;
    }
}
