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
using Hayate.Sandboxes.Isolation;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hayate.Lambda;

/// <summary>Settings of Lambda (section "Lambda").</summary>
public sealed record LambdaOptions
{
    /// <summary>The account concurrency limit: invocations running at once.</summary>
    public int ConcurrencyLimit { get; set; } = 1000;

    /// <summary>Asynchronous invocation (section "Lambda:Async").</summary>
    public AsyncOptions Async { get; set; } = new();
}

/// <summary>Every problem with Lambda's settings at once, each naming its setting.</summary>
internal sealed class LambdaOptionsValidator : IValidateOptions<LambdaOptions>
{
    public ValidateOptionsResult Validate(string? name, LambdaOptions options)
    {
        var problems = new List<string>();
        if (options.ConcurrencyLimit < 1)
        {
            problems.Add($"Lambda:ConcurrencyLimit {options.ConcurrencyLimit}: must be at least 1");
        }

        if (options.Async.FirstRetryDelay < TimeSpan.Zero)
        {
            problems.Add($"Lambda:Async:FirstRetryDelay {options.Async.FirstRetryDelay.TotalSeconds}: must be 0 seconds or more");
        }

        if (options.Async.Workers < 1)
        {
            problems.Add($"Lambda:Async:Workers {options.Async.Workers}: must be at least 1");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

/// <summary>
/// Wires Lambda: functions, versions, aliases, layers, policies, concurrency, sync and async
/// invocation, logs and event source mappings, over the sandbox pool and the SQS, KMS and Kinesis
/// services; and its rest-json API.
/// </summary>
public static class LambdaServices
{
    /// <summary>Settings from the "Lambda" section (<see cref="LambdaOptions"/>), checked at start.</summary>
    public static IServiceCollection AddLambda(this IServiceCollection services)
    {
        services.AddOptions<LambdaOptions>().BindConfiguration("Lambda").ValidateOnStart();
        services.AddSingleton<IValidateOptions<LambdaOptions>, LambdaOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<LambdaOptions>>().Value.Async);
        services.AddSqliteSchema(LambdaSchema.Schema);
        services.AddSingleton(sp => new CodeStore(sp.GetRequiredService<DataDirectory>().Path, sp.GetService<SandboxMounts>()?.Root));
        services.AddSingleton<IFunctionStore, SqliteFunctionStore>();
        services.AddSingleton<FunctionManager>();
        services.AddSingleton<EnvironmentCipher>();
        services.AddSingleton<FunctionPolicies>();
        services.AddSingleton<ILayerStore, SqliteLayerStore>();
        services.AddSingleton<LayerManager>();
        services.AddSingleton<ILogStore, SqliteLogStore>();
        services.AddSingleton<FunctionLogWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<FunctionLogWriter>());
        services.AddSingleton(sp => new ConcurrencyLimiter(sp.GetRequiredService<IOptions<LambdaOptions>>().Value.ConcurrencyLimit));
        services.AddSingleton<FunctionConcurrency>();
        services.AddHostedService(sp => sp.GetRequiredService<FunctionConcurrency>());
        services.AddSingleton<Invoker>();
        services.AddSingleton<IAsyncEventStore, SqliteAsyncEventStore>();
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
