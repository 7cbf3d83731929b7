namespace Hayate.Lambda.Logging;

/// <summary>One line of a function's log, as CloudWatch Logs would hold it.</summary>
public sealed record LogEvent(long Id, string FunctionName, string Stream, DateTimeOffset Timestamp, string Message);

/// <summary>Durable per-function logs: START/END/REPORT and everything the function printed.</summary>
public interface ILogStore
{
    Task AppendAsync(IReadOnlyList<LogEvent> events, CancellationToken cancellationToken);

    /// <summary>Events of the function with Id greater than <paramref name="afterId"/>, oldest first.</summary>
    Task<IReadOnlyList<LogEvent>> ReadAsync(string functionName, long afterId, int limit, CancellationToken cancellationToken);

    Task DeleteAsync(string functionName, CancellationToken cancellationToken);
}
