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

    public async Task<IReadOnlyList<LogEvent>> ReadAsync(string functionName, long afterId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, stream, ts, message FROM log_events WHERE function_name = $fn AND id > $after ORDER BY id LIMIT $limit;";
        command.Parameters.AddWithValue("$fn", functionName);
        command.Parameters.AddWithValue("$after", afterId);
        command.Parameters.AddWithValue("$limit", limit);
        var list = new List<LogEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new LogEvent(reader.GetInt64(0), functionName, reader.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)), reader.GetString(3)));
        }

        return list;
    }

    public async Task DeleteAsync(string functionName, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM log_events WHERE function_name = $fn;";
        command.Parameters.AddWithValue("$fn", functionName);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
