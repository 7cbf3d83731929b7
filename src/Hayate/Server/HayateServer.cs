using System.Net;
using Hayate.Api;
using Hayate.Api.JsonProtocol;
using Hayate.Api.Kms;
using Hayate.Api.Lambda;
using Hayate.Api.Kinesis;
using Hayate.Api.Sqs;
using Hayate.Api.Wire;
using Hayate.Core.Errors;
using Hayate.Invocation.Concurrency;
using Hayate.Invocation.EventSources;
using Hayate.Invocation.Functions;
using Hayate.Invocation.Invoking;
using Hayate.Invocation.Layers;
using Hayate.Invocation.Keys;
using Hayate.Invocation.Logging;
using Hayate.Invocation.Queues;
using Hayate.Invocation.Streams;
using Hayate.Sandboxes.Isolation;
using Hayate.Sandboxes.Pooling;
using Hayate.Storage.Code;
using Hayate.Storage.EventSources;
using Hayate.Storage.Events;
using Hayate.Storage.Functions;
using Hayate.Storage.Layers;
using Hayate.Storage.Keys;
using Hayate.Storage.Logs;
using Hayate.Storage.Queues;
using Hayate.Storage.Streams;
using Hayate.Storage.Sqlite;
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
public static partial class HayateServer
{
    public static async Task<int> RunAsync(ServeSettings settings, CancellationToken cancellationToken)
    {
        var data = Path.GetFullPath(settings.DataDirectory);
        Directory.CreateDirectory(data);
        var database = new SqliteDatabase(Path.Combine(data, "hayate.db"));
        await database.InitializeAsync(cancellationToken);
        var masterKey = MasterKey.LoadOrCreate(settings.MasterKeyFile, data);

        var sandboxOptions = new SandboxOptions
        {
            IdleTimeout = settings.IdleTimeout,
            Isolation = settings.Isolation,
            StagingDirectory = Path.Combine(data, "runtime"),
        };
        var host = HostCapabilities.Detect(sandboxOptions);

        // Content root beside the executable, no config reloading: by default both follow the working
        // directory, and watching it recursively cost hundreds of inotify watches and wake-ups.
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

        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(database);
        services.AddSingleton<IFunctionStore, SqliteFunctionStore>();
        services.AddSingleton<ILogStore, SqliteLogStore>();
        services.AddSingleton(new CodeStore(data));
        services.AddSingleton(host);
        services.AddSingleton(sandboxOptions);
        services.AddSingleton<SandboxPool>();
        services.AddSingleton<ISandboxHost>(sp => sp.GetRequiredService<SandboxPool>());
        services.AddHostedService(sp => sp.GetRequiredService<SandboxPool>());
        services.AddSingleton(new AccountOptions { Region = settings.Region });
        services.AddSingleton(new ConcurrencyLimiter(settings.ConcurrencyLimit));
        services.AddSingleton<ILayerStore, SqliteLayerStore>();
        services.AddSingleton<LayerManager>();
        services.AddSingleton<FunctionManager>();
        services.AddSingleton<FunctionPolicies>();
        services.AddSingleton<FunctionLogWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<FunctionLogWriter>());
        services.AddSingleton<Invoker>();
        services.AddSingleton<FunctionConcurrency>();
        services.AddHostedService(sp => sp.GetRequiredService<FunctionConcurrency>());
        services.AddSingleton<IAsyncEventStore, SqliteAsyncEventStore>();
        services.AddSingleton(new AsyncOptions { FirstRetryDelay = settings.AsyncRetryDelay });
        services.AddSingleton<EventInvokeConfigs>();
        services.AddSingleton<AsyncEventQueue>();
        services.AddHostedService(sp => sp.GetRequiredService<AsyncEventQueue>());
        services.AddSingleton(masterKey);
        services.AddSingleton<IKeyStore, SqliteKeyStore>();
        services.AddSingleton<KeyService>();
        services.AddSingleton<EnvironmentCipher>();
        services.AddJsonProtocolService(KmsEndpoints.Service);
        services.AddSingleton<IQueueStore, SqliteQueueStore>();
        services.AddSingleton<QueueService>();
        services.AddJsonProtocolService(SqsEndpoints.Service);
        services.AddSingleton<IStreamStore, SqliteStreamStore>();
        services.AddSingleton<StreamService>();
        services.AddJsonProtocolService(KinesisEndpoints.Service);
        services.AddSingleton<IEventSourceMappingStore, SqliteEventSourceMappingStore>();
        services.AddSingleton<EventSourceMappings>();
        services.AddHostedService(sp => sp.GetRequiredService<EventSourceMappings>());

        var app = builder.Build();
        app.Services.GetRequiredService<Invoker>().AttachQueue(app.Services.GetRequiredService<AsyncEventQueue>());
        app.Services.GetRequiredService<FunctionManager>().FunctionDeleted += app.Services.GetRequiredService<EventInvokeConfigs>().Forget;
        app.Services.GetRequiredService<FunctionManager>().QualifierDeleted += (name, _) => app.Services.GetRequiredService<EventInvokeConfigs>().Forget(name);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Hayate");
        await app.Services.GetRequiredService<KeyService>().CheckMasterKeyAsync(cancellationToken);

        app.Use(async (context, next) =>
        {
            context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
            try
            {
                await next(context);
            }
            catch (Exception ex) when (!context.Response.HasStarted && ex is not OperationCanceledException)
            {
                LogUnhandled(logger, ex, context.Request.Method, context.Request.Path);
                await WireErrors.WriteAsync(context, LambdaErrors.Service("An internal error occurred; the server log has the details."));
            }
        });
        app.MapLambdaApi();
        app.MapHayateApi();
        app.MapJsonProtocols();
        app.MapFallback((HttpContext context) => WireErrors.WriteAsync(context, LambdaErrors.UnknownOperation(context.Request.Method, context.Request.Path)));

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

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "unhandled error in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
