using Hayate.Kernel.Accounts;
using Hayate.Kernel.Hosting;
using Hayate.Kernel.Protocols;
using Hayate.Kinesis;
using Hayate.Kms;
using Hayate.Lambda;
using Hayate.Sandboxes;
using Hayate.Sandboxes.Isolation;
using Hayate.Sandboxes.Networking;
using Hayate.Sqs;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hayate.Server;

/// <summary>The composition root of `hayate serve`: one process, SQLite in the data directory, Kestrel on one port.</summary>
public static class HayateServer
{
    /// <summary>Runs until stopped. <paramref name="settings"/> are configuration keys ("Server:Port", "Sandboxes:IdleTimeout"…) over the options' defaults.</summary>
    /// <exception cref="OptionsValidationException">a setting is wrong; every problem is in Failures.</exception>
    public static async Task<int> RunAsync(IReadOnlyDictionary<string, string?> settings, CancellationToken cancellationToken)
    {
        // Content root beside the executable, no config reloading: by default both follow the working
        // directory, and watching it recursively cost hundreds of inotify watches and wake-ups.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        // Settings from HAYATE_Section__Key environment variables, then the command line's flags over them.
        builder.Configuration.AddEnvironmentVariables("HAYATE_");
        builder.Configuration.AddInMemoryCollection(settings);

        // The server's own settings are needed before there is a container: the port and the data directory.
        var server = builder.Configuration.GetSection("Server").Get<ServerOptions>() ?? new ServerOptions();
        var problems = new ServerOptionsValidator().Validate(null, server).Failures?.ToList() ?? [];
        var serverProblems = problems.Count;
        var data = Path.GetFullPath(string.IsNullOrWhiteSpace(server.DataDirectory) ? "." : server.DataDirectory);
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.SetMinimumLevel(server.Verbose ? LogLevel.Debug : LogLevel.Warning);
        // Console logs go to stderr: stdout is for machine output.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // With bad server settings the start is refused below, after every setting is checked.
            if (serverProblems == 0)
            {
                kestrel.Listen(server.Address, server.Port);
            }

            kestrel.Limits.MaxRequestBodySize = 128L * 1024 * 1024;
            kestrel.AddServerHeader = false;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));

        // One call per service. Lambda uses the others through their C# APIs; they know nothing of it.
        builder.Services
            .AddKernel(data)
            .AddSandboxes()
            .AddKms()
            .AddSqs()
            .AddKinesis()
            .AddLambda();
        // What sandboxes mount (code, layers, the bootstraps, staged and python's precompiled) lives
        // where their own uids can reach it: the data directory, or a directory of /var/tmp.
        var mounts = SandboxMounts.For(data);
        builder.Services.AddSingleton(mounts);
        builder.Services.PostConfigure<SandboxOptions>(o => o.StagingDirectory ??= mounts.Runtimes);

        var app = builder.Build();
        // Every setting of every service checked at once, before anything is touched.
        try
        {
            app.Services.GetRequiredService<IStartupValidator>().Validate();
        }
        catch (OptionsValidationException ex)
        {
            problems.AddRange(ex.Failures);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is OptionsValidationException))
        {
            problems.AddRange(ex.InnerExceptions.SelectMany(e => ((OptionsValidationException)e).Failures));
        }

        if (problems.Count > 0)
        {
            throw new OptionsValidationException("Hayate", typeof(ServerOptions), problems);
        }

        Directory.CreateDirectory(data);
        var host = app.Services.GetRequiredService<HostCapabilities>();
        var masterKey = app.Services.GetRequiredService<MasterKey>();
        await app.Services.PrepareAsync(cancellationToken);
        if (host.Bwrap is not null)
        {
            // Before the port opens: a sandbox that can write a global sysctl or make a nested
            // user namespace does not hold here, and this server must not run anyone's code.
            var holes = await app.Services.GetRequiredService<ProcessSandboxLauncher>().SelfTestAsync(cancellationToken);
            if (holes.Count > 0)
            {
                throw new InvalidOperationException(
                    "the sandbox self-test failed, so functions could climb out of their sandboxes on this host: "
                    + string.Join("; ", holes)
                    + ". Run the server as root with bubblewrap 0.8 or later and libseccomp2 installed, or, on a machine only you use, with --isolation process.");
            }
        }

        app.UseAwsProtocols();
        app.MapLambda();
        app.MapSqs();
        app.MapKms();
        app.MapKinesis();
        app.MapGet("/_hayate/health", (HttpContext context) => context.Response.WriteAsync("ok"));
        app.MapUnknownOperations();

        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // Sandboxes reach the API through a port forwarded into their namespace, to the port bound now.
        var bound = new Uri(address);
        app.Services.GetRequiredService<ApiEndpoint>().Address = new IPEndPoint(server.Address, bound.Port);
        Console.Error.WriteLine($"hayate: listening on {address}");
        Console.Error.WriteLine($"hayate: data in {data}");
        if (mounts.Root != data)
        {
            Console.Error.WriteLine($"hayate: sandboxes cannot reach into {data} as their own users: code, layers and runtimes they mount are kept in {mounts.Root}");
        }

        var sandboxes = app.Services.GetRequiredService<SandboxOptions>();
        var lambda = app.Services.GetRequiredService<IOptions<LambdaOptions>>().Value;
        Console.Error.WriteLine(FormattableString.Invariant(
            $"hayate: settings: isolation {sandboxes.Isolation}, idle timeout {sandboxes.IdleTimeout.TotalSeconds} s, concurrency {lambda.ConcurrencyLimit}, first async retry after {lambda.Async.FirstRetryDelay.TotalSeconds} s, region {app.Services.GetRequiredService<AccountOptions>().Region}"));
        Console.Error.WriteLine($"hayate: KMS key material sealed under the master key in {masterKey.Path}");
        foreach (var line in host.Describe().Append(app.Services.GetRequiredService<SandboxNetworks>().Describe()))
        {
            Console.Error.WriteLine($"hayate: {line}");
        }

        foreach (var warning in host.Warnings.Concat(masterKey.Warnings))
        {
            Console.Error.WriteLine($"hayate: WARNING: {warning}");
        }

        Console.Error.WriteLine("hayate: ready (Ctrl-C to stop)");
        await app.WaitForShutdownAsync(cancellationToken);
        Console.Error.WriteLine("hayate: stopped");
        return 0;
    }
}
