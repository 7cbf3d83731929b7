using System.Net;
using Hayate.Kernel.Accounts;
using Hayate.Kernel.Hosting;
using Hayate.Kernel.Protocols;
using Hayate.Kinesis;
using Hayate.Kms;
using Hayate.Lambda;
using Hayate.Sandboxes;
using Hayate.Sandboxes.Isolation;
using Hayate.Sqs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hayate.Server;

/// <summary>The composition root of `hayate serve`: one process, SQLite in the data directory, Kestrel on one port.</summary>
public static class HayateServer
{
    public static async Task<int> RunAsync(ServeSettings settings, CancellationToken cancellationToken)
    {
        var data = Path.GetFullPath(settings.DataDirectory);
        Directory.CreateDirectory(data);
        var masterKey = MasterKey.LoadOrCreate(settings.MasterKeyFile, data);
        var sandboxOptions = new SandboxOptions
        {
            IdleTimeout = settings.IdleTimeout,
            Isolation = settings.Isolation,
            StagingDirectory = Path.Combine(data, "runtime"),
        };
        var host = HostCapabilities.Detect(sandboxOptions);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.SetMinimumLevel(settings.Verbose ? LogLevel.Debug : LogLevel.Warning);
        // Console logs go to stderr: stdout is for machine output.
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Parse(settings.Host == "localhost" ? "127.0.0.1" : settings.Host), settings.Port);
            kestrel.Limits.MaxRequestBodySize = 128L * 1024 * 1024;
            kestrel.AddServerHeader = false;
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));

        // One call per service. Lambda uses the others through their C# APIs; they know nothing of it.
        builder.Services
            .AddKernel(data, new AccountOptions { Region = settings.Region })
            .AddSandboxes(sandboxOptions, host)
            .AddKms(masterKey)
            .AddSqs()
            .AddKinesis()
            .AddLambda(new LambdaOptions { ConcurrencyLimit = settings.ConcurrencyLimit, AsyncRetryDelay = settings.AsyncRetryDelay });

        var app = builder.Build();
        await app.Services.PrepareAsync(cancellationToken);
        app.UseAwsProtocols();
        app.MapLambda();
        app.MapSqs();
        app.MapKms();
        app.MapKinesis();
        app.MapGet("/_hayate/health", (HttpContext context) => context.Response.WriteAsync("ok"));
        app.MapUnknownOperations();

        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.Error.WriteLine($"hayate: listening on {address}");
        Console.Error.WriteLine($"hayate: data in {data}");
        Console.Error.WriteLine($"hayate: KMS key material sealed under the master key in {masterKey.Path}");
        foreach (var line in host.Describe())
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
