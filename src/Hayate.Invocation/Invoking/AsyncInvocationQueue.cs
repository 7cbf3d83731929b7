using System.Threading.Channels;
using Hayate.Invocation.Concurrency;
using Hayate.Invocation.Functions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hayate.Invocation.Invoking;

/// <summary>An accepted asynchronous event waiting to run.</summary>
public sealed record QueuedInvocation(string FunctionName, string? Qualifier, string RequestId, byte[] Payload, string? ClientContext);

/// <summary>
/// Runs Event invocations in the background, within the concurrency limit. In memory for now:
/// the durable queue with Lambda's retry rules replaces it (issue 4).
/// </summary>
public sealed partial class AsyncInvocationQueue(Invoker invoker, FunctionManager functions, ConcurrencyLimiter limiter, TimeProvider time, ILogger<AsyncInvocationQueue> logger) : BackgroundService
{
    private const int Workers = 16;
    private static readonly TimeSpan ThrottleBackoff = TimeSpan.FromMilliseconds(200);
    private readonly Channel<QueuedInvocation> _queue = Channel.CreateUnbounded<QueuedInvocation>();

    public void Enqueue(QueuedInvocation invocation) => _queue.Writer.TryWrite(invocation);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => WorkAsync(stoppingToken)));

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var item in _queue.Reader.ReadAllAsync(stoppingToken))
            {
                if (limiter.TryAcquire(item.FunctionName) is not { } pool)
                {
                    // Throttled: the event is kept and tried again later, without holding a worker.
                    _ = RequeueLaterAsync(item, stoppingToken);
                    continue;
                }

                try
                {
                    var function = await functions.ResolveForInvokeAsync(new Core.Functions.FunctionRef(item.FunctionName, item.Qualifier), stoppingToken);
                    if (function.Ok && await functions.CheckEnvironmentAsync(function.Value, stoppingToken) is { } kms)
                    {
                        LogRefused(logger, item.RequestId, kms.Type, kms.Message);
                    }
                    else if (function.Ok)
                    {
                        await invoker.RunAsync(function.Value, functions.ArnOf(item.FunctionName, item.Qualifier), item.RequestId, item.Payload, item.ClientContext, tailLog: false, stoppingToken);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogFailed(logger, ex, item.RequestId);
                }
                finally
                {
                    pool.Release();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RequeueLaterAsync(QueuedInvocation item, CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(ThrottleBackoff, time, stoppingToken);
            _queue.Writer.TryWrite(item);
        }
        catch (OperationCanceledException)
        {
        }
    }

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "asynchronous invocation {RequestId} not run: {ErrorType}: {Message}")]
    private static partial void LogRefused(ILogger logger, string requestId, string errorType, string message);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Error, Message = "asynchronous invocation {RequestId} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string requestId);
}
