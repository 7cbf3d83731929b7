using System.Collections.Concurrent;
using System.IO.Compression;
using Hayate.Kernel.Hosting;
using Hayate.Kinesis;
using Hayate.Kms;
using Hayate.Lambda.Functions;
using Hayate.Sandboxes;
using Hayate.Sandboxes.Pooling;
using Hayate.Sqs;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Hayate.Lambda.Tests;

/// <summary>
/// Lambda wired as `hayate serve` wires it (real SQLite, real SQS and KMS services, the real
/// invoker and async queue), in this process, with a clock the test moves and stand-in
/// sandboxes behind the pool's interface: what runs a function is the one thing left out.
/// </summary>
internal sealed class LambdaHost : IAsyncDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "hayate-lambda-" + Guid.NewGuid().ToString("N"));
    private readonly ServiceProvider _services;
    private readonly List<IHostedService> _started = [];

    private LambdaHost(Action<IServiceCollection>? configure, IReadOnlyDictionary<string, string?> settings)
    {
        Directory.CreateDirectory(_directory);
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddLogging(logging => logging.AddProvider(Logs).SetMinimumLevel(LogLevel.Debug));
        services
            .AddKernel(_directory)
            .AddKms()
            .AddSqs()
            .AddKinesis()
            .AddLambda();
        services.Replace(ServiceDescriptor.Singleton<TimeProvider>(Clock));
        services.AddSingleton<ISandboxHost>(Sandboxes);
        configure?.Invoke(services);
        _services = services.BuildServiceProvider();
    }

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));

    public StandInSandboxes Sandboxes { get; } = new();

    public ListLogger Logs { get; } = new();

    public IServiceProvider Services => _services;

    public T Get<T>()
        where T : notnull => _services.GetRequiredService<T>();

    /// <summary>Migrates, runs the startup tasks and starts the hosted services (the async queue, the mappings…).</summary>
    public static async Task<LambdaHost> StartAsync(Action<IServiceCollection>? configure = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var host = new LambdaHost(configure, settings ?? new Dictionary<string, string?>());
        await host._services.PrepareAsync(CancellationToken.None);
        foreach (var hosted in host._services.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
            host._started.Add(hosted);
        }

        return host;
    }

    public async Task<FunctionConfiguration> CreateFunctionAsync(string name)
    {
        var created = await Get<FunctionManager>().CreateAsync(name, new FunctionSettings
        {
            Runtime = "provided.al2023",
            Handler = "handler",
            Role = "arn:aws:iam::000000000000:role/test",
        }, Zip(("bootstrap", "#!/bin/sh\n")), null, CancellationToken.None);
        Assert.True(created.Ok, created.Error?.Message);
        return created.Value;
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = _started.Count - 1; i >= 0; i--)
        {
            await _started[i].StopAsync(CancellationToken.None);
        }

        await _services.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static byte[] Zip(params (string Name, string Content)[] files)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                using var writer = new StreamWriter(archive.CreateEntry(name).Open());
                writer.Write(content);
            }
        }

        return buffer.ToArray();
    }

    /// <summary>Waits (in real time, bounded) for something the host does on its own threads.</summary>
    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(5);
        }
    }
}

/// <summary>Sandboxes that answer as the test scripts them: each call takes the next answer, the last one repeats.</summary>
internal sealed class StandInSandboxes : ISandboxHost
{
    private readonly ConcurrentQueue<Func<SandboxInvocation, SandboxResult>> _answers = new();
    private Func<SandboxInvocation, SandboxResult> _last = Succeed;

    public ConcurrentQueue<(SandboxSpec Spec, SandboxInvocation Invocation)> Calls { get; } = new();

    public int Count => 0;

    public static SandboxResult Succeed(SandboxInvocation invocation) => new()
    {
        Payload = invocation.Payload,
        Output = "",
        Duration = TimeSpan.FromMilliseconds(1),
        MaxMemoryUsedBytes = 0,
    };

    public static SandboxResult Fail(SandboxInvocation invocation) => new()
    {
        Payload = """{"errorMessage":"boom","errorType":"Error"}"""u8.ToArray(),
        ErrorType = "Error",
        Output = "",
        Duration = TimeSpan.FromMilliseconds(1),
        MaxMemoryUsedBytes = 0,
    };

    /// <summary>What Hayate itself failing looks like from the invoker: the call throws.</summary>
    public static SandboxResult Throw(SandboxInvocation invocation) => throw new IOException("the sandbox host broke");

    public void Answer(params Func<SandboxInvocation, SandboxResult>[] answers)
    {
        foreach (var answer in answers)
        {
            _answers.Enqueue(answer);
        }

        _last = answers[^1];
    }

    public Task<SandboxResult> InvokeAsync(SandboxSpec spec, SandboxInvocation invocation, CancellationToken cancellationToken)
    {
        Calls.Enqueue((spec, invocation));
        var answer = _answers.TryDequeue(out var next) ? next : _last;
        return Task.FromResult(answer(invocation));
    }

    public Task RetireAsync(string functionName, string? version, string? keepIdentity) => Task.CompletedTask;

    public Task<IReadOnlyDictionary<string, ProvisionState>> ProvisionAsync(IReadOnlyCollection<ProvisionTarget> targets, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, ProvisionState>>(targets.ToDictionary(t => t.Spec.Identity, t => new ProvisionState(t.Count, null)));
}

/// <summary>Keeps what was logged, to assert that a failure is said, not swallowed.</summary>
internal sealed class ListLogger : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message, Exception? Exception)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(ListLogger sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Entries.Enqueue((logLevel, category, formatter(state, exception), exception));
    }
}
