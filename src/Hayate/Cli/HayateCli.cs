using System.CommandLine;
using System.Globalization;
using Hayate.Kernel.Accounts;
using Hayate.Lambda;
using Hayate.Sandboxes.Isolation;
using Hayate.Server;
using Microsoft.Extensions.Options;

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
        // Defaults come from the options records (one place); only flags given reach the configuration.
        var server = new ServerOptions();
        var sandboxes = new SandboxOptions();
        var lambda = new LambdaOptions();
        var account = new AccountOptions();
        var host = new Option<string>("--host") { Description = "Address to listen on: an IP address or localhost.", DefaultValueFactory = _ => server.Host };
        var port = new Option<int>("--port", "-p") { Description = "Port to listen on (0 picks a free one).", DefaultValueFactory = _ => server.Port };
        var data = new Option<string>("--data", "-d") { Description = "Data directory: the SQLite database, code packages and logs.", DefaultValueFactory = _ => server.DataDirectory };
        var idle = new Option<double>("--idle-timeout") { Description = "Seconds an idle sandbox stays warm before it is stopped.", DefaultValueFactory = _ => sandboxes.IdleTimeout.TotalSeconds };
        var isolation = new Option<string>("--isolation") { Description = "auto (bubblewrap when installed), bwrap (require it) or process (no isolation).", DefaultValueFactory = _ => sandboxes.Isolation };
        var cpu = new Option<string>("--cpu") { Description = "quota: a function's CPU follows its memory as on Lambda (1,769 MB = one vCPU, inits run on at least one); shared: CPU weights only, an idle host lends every core (development machines).", DefaultValueFactory = _ => sandboxes.Cpu };
        var egress = new Option<string>("--egress") { Description = "internet: functions reach the outside world as on Lambda, but not this host, link-local (169.254.0.0/16, the metadata address) or private ranges; none: only their own loopback and Hayate's API. Needs root and slirp4netns.", DefaultValueFactory = _ => sandboxes.Egress };
        var egressAllow = new Option<string[]>("--egress-allow") { Description = "A range (CIDR, such as 10.1.0.0/16) functions may reach although it is private, link-local or this host's; repeat for more.", Arity = ArgumentArity.OneOrMore, AllowMultipleArgumentsPerToken = false };
        var concurrency = new Option<int>("--concurrency") { Description = "Account concurrency limit: invocations running at once.", DefaultValueFactory = _ => lambda.ConcurrencyLimit };
        var region = new Option<string>("--region") { Description = "Region used in ARNs.", DefaultValueFactory = _ => account.Region };
        var masterKeyFile = new Option<string?>("--master-key-file") { Description = "File holding the 256-bit master key that encrypts KMS key material at rest (32 raw bytes or their base64). Default: DATA/master.key, created on first start readable by its owner only." };
        var asyncRetryDelay = new Option<double>("--async-retry-delay") { Description = "Seconds before an asynchronous invocation's first retry; the second waits twice as long (Lambda: about 60, then 120).", DefaultValueFactory = _ => lambda.Async.FirstRetryDelay.TotalSeconds };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Log sandbox starts and stops and other debug detail to stderr." };
        var command = new Command("serve", $"Run the Hayate server (Lambda API on http://HOST:PORT). {ExitCodes}")
        {
            host, port, data, idle, isolation, cpu, egress, egressAllow, concurrency, region, asyncRetryDelay, verbose, masterKeyFile,
        };
        // Each flag and the setting it sets; problems found in a setting are reported under its flag.
        var flags = new (Option Option, string Key, Func<ParseResult, string?> Value)[]
        {
            (host, "Server:Host", p => p.GetValue(host)),
            (port, "Server:Port", p => Invariant(p.GetValue(port))),
            (data, "Server:DataDirectory", p => p.GetValue(data)),
            (verbose, "Server:Verbose", p => p.GetValue(verbose) ? "true" : "false"),
            (idle, "Sandboxes:IdleTimeout", p => Seconds(p.GetValue(idle))),
            (isolation, "Sandboxes:Isolation", p => p.GetValue(isolation)),
            (cpu, "Sandboxes:Cpu", p => p.GetValue(cpu)),
            (egress, "Sandboxes:Egress", p => p.GetValue(egress)),
            (concurrency, "Lambda:ConcurrencyLimit", p => Invariant(p.GetValue(concurrency))),
            (asyncRetryDelay, "Lambda:Async:FirstRetryDelay", p => Seconds(p.GetValue(asyncRetryDelay))),
            (region, "Account:Region", p => p.GetValue(region)),
            (masterKeyFile, "Kms:MasterKeyFile", p => p.GetValue(masterKeyFile)),
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            foreach (var (option, key, value) in flags)
            {
                if (parse.GetResult(option) is { Implicit: false })
                {
                    settings[key] = value(parse);
                }
            }

            // A list setting: one key per value.
            foreach (var (range, i) in (parse.GetValue(egressAllow) ?? []).Select((r, i) => (r, i)))
            {
                settings[$"Sandboxes:EgressAllow:{Invariant(i)}"] = range;
            }

            try
            {
                return await HayateServer.RunAsync(settings, cancellationToken);
            }
            catch (OptionsValidationException ex)
            {
                foreach (var failure in ex.Failures)
                {
                    await Console.Error.WriteLineAsync($"hayate serve: {AsFlag(failure, flags.Select(f => (f.Option.Name, f.Key)).Append((egressAllow.Name, "Sandboxes:EgressAllow")))}");
                }

                return Refused;
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

    /// <summary>A setting's problem ("Server:Port 70000: …") under the flag that sets it ("--port 70000: …").</summary>
    private static string AsFlag(string failure, IEnumerable<(string Flag, string Key)> flags)
    {
        foreach (var (flag, key) in flags)
        {
            if (failure.StartsWith(key + " ", StringComparison.Ordinal) || failure.StartsWith(key + ":", StringComparison.Ordinal))
            {
                return flag + failure[key.Length..];
            }
        }

        return failure;
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Seconds(double seconds) =>
        double.IsFinite(seconds) && Math.Abs(seconds) < TimeSpan.MaxValue.TotalSeconds
            ? TimeSpan.FromSeconds(seconds).ToString("c", CultureInfo.InvariantCulture)
            : seconds.ToString(CultureInfo.InvariantCulture);
}
