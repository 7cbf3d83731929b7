using Hayate.Storage.Events;
using Microsoft.Data.Sqlite;

namespace Hayate.Storage.Sqlite;

/// <summary>The asynchronous event journal in SQLite; each batch commits with synchronous=FULL (one fsync for the batch).</summary>
public sealed class SqliteAsyncEventStore(SqliteDatabase database) : IAsyncEventStore
{
    public async Task<IReadOnlyList<long>> ApplyAsync(IReadOnlyList<EventChange> changes, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using (var full = connection.CreateCommand())
        {
            // An acknowledged event must survive a power loss too, not only a crash of this process.
            full.CommandText = "PRAGMA synchronous=FULL;";
            await full.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var append = Command(connection, transaction, """
            INSERT INTO async_events (function_name, qualifier, request_id, payload, client_context, attempts, enqueued_at, next_attempt_at)
            VALUES ($function, $qualifier, $request, $payload, $context, 0, $enqueued, $enqueued) RETURNING id;
            """, "$function", "$qualifier", "$request", "$payload", "$context", "$enqueued");
        await using var remove = Command(connection, transaction, "DELETE FROM async_events WHERE id = $id;", "$id");
        await using var reschedule = Command(connection, transaction,
            "UPDATE async_events SET attempts = $attempts, next_attempt_at = $next, last_error = $error WHERE id = $id;", "$id", "$attempts", "$next", "$error");
        var ids = new List<long>();
        foreach (var change in changes)
        {
            switch (change)
            {
                case AppendEvent a:
                    Set(append, a.FunctionName, (object?)a.Qualifier ?? DBNull.Value, a.RequestId, a.Payload, (object?)a.ClientContext ?? DBNull.Value, a.EnqueuedAtMs);
                    ids.Add((long)(await append.ExecuteScalarAsync(cancellationToken))!);
                    break;
                case RemoveEvent r:
                    Set(remove, r.Id);
                    await remove.ExecuteNonQueryAsync(cancellationToken);
                    break;
                case RescheduleEvent r:
                    Set(reschedule, r.Id, r.Attempts, r.NextAttemptAtMs, (object?)r.LastError ?? DBNull.Value);
                    await reschedule.ExecuteNonQueryAsync(cancellationToken);
                    break;
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return ids;
    }

    public async Task<IReadOnlyList<StoredEvent>> LoadAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT id, function_name, qualifier, request_id, client_context, attempts, enqueued_at, next_attempt_at FROM async_events ORDER BY id;");
        var events = new List<StoredEvent>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(new StoredEvent(
                reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt32(5), reader.GetInt64(6), reader.GetInt64(7)));
        }

        return events;
    }

    public async Task<byte[]?> PayloadAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT payload FROM async_events WHERE id = $id;", "$id");
        command.Parameters["$id"].Value = id;
        return await command.ExecuteScalarAsync(cancellationToken) as byte[];
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, params string[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        return command;
    }

    private static void Set(SqliteCommand command, params object[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i];
        }
    }
}
