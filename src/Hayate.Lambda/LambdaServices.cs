using Hayate.Kernel.Hosting;
using Hayate.Lambda.Code;
using Hayate.Lambda.Concurrency;
using Hayate.Lambda.Endpoints;
using Hayate.Lambda.EventSources;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Invoking;
using Hayate.Lambda.Layers;
using Hayate.Lambda.Logging;
using Hayate.Lambda.Policies;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Lambda;

/// <summary>What `hayate serve` was asked for that only Lambda uses.</summary>
public sealed record LambdaOptions
{
    /// <summary>The account concurrency limit: invocations running at once.</summary>
    public int ConcurrencyLimit { get; init; } = 1000;

    /// <summary>The delay before an asynchronous invocation's first retry; the second waits twice as long.</summary>
    public TimeSpan AsyncRetryDelay { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Wires Lambda: functions, versions, aliases, layers, policies, concurrency, sync and async
/// invocation, logs and event source mappings, over the sandbox pool and the SQS, KMS and Kinesis
/// services; and its rest-json API.
/// </summary>
public static class LambdaServices
{
    public static IServiceCollection AddLambda(this IServiceCollection services, LambdaOptions options)
    {
        services.AddSqliteSchema(LambdaSchema.Schema);
        services.AddSingleton(sp => new CodeStore(sp.GetRequiredService<DataDirectory>().Path));
        services.AddSingleton<IFunctionStore, SqliteFunctionStore>();
        services.AddSingleton<FunctionManager>();
        services.AddSingleton<EnvironmentCipher>();
        services.AddSingleton<FunctionPolicies>();
        services.AddSingleton<ILayerStore, SqliteLayerStore>();
        services.AddSingleton<LayerManager>();
        services.AddSingleton<ILogStore, SqliteLogStore>();
        services.AddSingleton<FunctionLogWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<FunctionLogWriter>());
        services.AddSingleton(new ConcurrencyLimiter(options.ConcurrencyLimit));
        services.AddSingleton<FunctionConcurrency>();
        services.AddHostedService(sp => sp.GetRequiredService<FunctionConcurrency>());
        services.AddSingleton<Invoker>();
        services.AddSingleton<IAsyncEventStore, SqliteAsyncEventStore>();
        services.AddSingleton(new AsyncOptions { FirstRetryDelay = options.AsyncRetryDelay });
        services.AddSingleton<EventInvokeConfigs>();
        services.AddSingleton<AsyncEventQueue>();
        services.AddHostedService(sp => sp.GetRequiredService<AsyncEventQueue>());
        services.AddSingleton<IEventSourceMappingStore, SqliteEventSourceMappingStore>();
        services.AddSingleton<EventSourceMappings>();
        services.AddHostedService(sp => sp.GetRequiredService<EventSourceMappings>());
        services.AddStartupTask<Wiring>();
        return services;
    }

    /// <summary>The Lambda API (rest-json, at the model's paths) and Hayate's own `/_hayate/` endpoints for code and logs.</summary>
    public static IEndpointRouteBuilder MapLambda(this IEndpointRouteBuilder app) => app.MapLambdaApi().MapHayateApi();

    /// <summary>The links that would be constructor cycles: the invoker hands Event invokes to the queue, deletes forget async settings.</summary>
    private sealed class Wiring(Invoker invoker, AsyncEventQueue queue, FunctionManager functions, EventInvokeConfigs configs) : IStartupTask
    {
        public Task RunAsync(CancellationToken cancellationToken)
        {
            invoker.AttachQueue(queue);
            functions.FunctionDeleted += configs.Forget;
            functions.QualifierDeleted += (name, _) => configs.Forget(name);
            return Task.CompletedTask;
        }
    }
}
