using Hayate.Kernel.Storage;
using Microsoft.Data.Sqlite;

namespace Hayate.Lambda.Logging;

/// <summary>Function logs in SQLite, one row per line, appended in batches.</summary>
public sealed class SqliteLogStore(SqliteDatabase database) : ILogStore
{
    public async Task AppendAsync(IReadOnlyList<LogEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return;
        }

        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO log_events (function_name, stream, ts, message) VALUES ($fn, $stream, $ts, $message);";
        var fn = command.Parameters.Add("$fn", SqliteType.Text);
        var stream = command.Parameters.Add("$stream", SqliteType.Text);
        var ts = command.Parameters.Add("$ts", SqliteType.Integer);
        var message = command.Parameters.Add("$message", SqliteType.Text);
        foreach (var e in events)
        {
            fn.Value = e.FunctionName;
            stream.Value = e.Stream;
            ts.Value = e.Timestamp.ToUnixTimeMilliseconds();
            message.Value = e.Message;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<LogEvent>> ReadAsync(string functionName, long afterId, int limit, CancellationToken cancellationToken) =>
        await database.QueryAsync("SELECT id, stream, ts, message FROM log_events WHERE function_name = $fn AND id > $after ORDER BY id LIMIT $limit;",
            [("$fn", functionName), ("$after", afterId), ("$limit", limit)],
            r => new LogEvent(r.GetInt64(0), functionName, r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)), r.GetString(3)), cancellationToken);

    public async Task DeleteAsync(string functionName, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await database.ExecuteAsync("DELETE FROM log_events WHERE function_name = $fn;", [("$fn", functionName)], cancellationToken);
    }
}
