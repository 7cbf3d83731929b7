using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hayate.Lambda.Logging;

/// <summary>
/// Takes invocation logs off the hot path: lines are queued, written to the log store in batches,
/// and waiting readers (hayate logs --follow) are woken when their function logs something.
/// </summary>
public sealed partial class FunctionLogWriter(ILogStore store, TimeProvider time, ILogger<FunctionLogWriter> logger) : BackgroundService
{
    private static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(20);
    private readonly Channel<LogEvent> _queue = Channel.CreateUnbounded<LogEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiters = new(StringComparer.Ordinal);

    public void Write(IEnumerable<LogEvent> events)
    {
        foreach (var e in events)
        {
            _queue.Writer.TryWrite(e);
        }
    }

    /// <summary>Completes when new lines of the function have been stored (or the token fires).</summary>
    public Task WaitForNewAsync(string functionName, CancellationToken cancellationToken) =>
        _waiters.GetOrAdd(functionName, static _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))
            .Task.WaitAsync(cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<LogEvent>(512);
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(stoppingToken))
            {
                // Gather for a moment: one transaction for many invocations instead of one each.
                await Task.Delay(BatchWindow, time, stoppingToken);
                await FlushAsync(batch, reader, CancellationToken.None);
            }
        }
        catch (OperationCanceledException)
        {
        }

        // Stopping: write what is still queued.
        await FlushAsync(batch, reader, CancellationToken.None);
    }

    private async Task FlushAsync(List<LogEvent> batch, ChannelReader<LogEvent> reader, CancellationToken cancellationToken)
    {
        while (reader.TryRead(out var e))
        {
            batch.Add(e);
            if (batch.Count == 5000)
            {
                await WriteAsync(batch, cancellationToken);
            }
        }

        await WriteAsync(batch, cancellationToken);
    }

    private async Task WriteAsync(List<LogEvent> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        try
        {
            await store.AppendAsync(batch, cancellationToken);
        }
        catch (Exception ex)
        {
            LogWriteFailed(logger, ex, batch.Count);
        }

        foreach (var name in batch.Select(e => e.FunctionName).Distinct(StringComparer.Ordinal))
        {
            if (_waiters.TryRemove(name, out var waiter))
            {
                waiter.TrySetResult();
            }
        }

        batch.Clear();
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Error, Message = "could not store {Count} function log lines")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, int count);
}
