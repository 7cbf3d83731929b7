using Hayate.Kernel.Storage;
using Microsoft.Data.Sqlite;

namespace Hayate.Lambda.Invoking;

/// <summary>The asynchronous event journal in SQLite; each batch commits with synchronous=FULL (one fsync for the batch).</summary>
public sealed class SqliteAsyncEventStore(SqliteDatabase database) : IAsyncEventStore, IAsyncDisposable
{
    private SqliteConnection? _writer;
    private SqliteCommand? _append;
    private SqliteCommand? _remove;
    private SqliteCommand? _reschedule;

    public async Task<IReadOnlyList<long>> ApplyAsync(IReadOnlyList<EventChange> changes, CancellationToken cancellationToken)
    {
        var connection = await WriterAsync(cancellationToken);
        using var turn = await database.WriteTurnAsync(cancellationToken);

        // Appends must survive a power loss too (an fsync per batch); removals and reschedules may
        // be lost to one, which only runs an event again: at least once, never lost.
        var appends = changes.Any(c => c is AppendEvent);
        await using (var sync = connection.CreateCommand())
        {
            sync.CommandText = appends ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
            await sync.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        _append!.Transaction = _remove!.Transaction = _reschedule!.Transaction = transaction;
        var ids = new List<long>();
        try
        {
            foreach (var change in changes)
            {
                switch (change)
                {
                    case AppendEvent a:
                        Set(_append, a.FunctionName, (object?)a.Qualifier ?? DBNull.Value, a.RequestId, a.Payload, (object?)a.ClientContext ?? DBNull.Value, a.EnqueuedAtMs);
                        ids.Add((long)(await _append.ExecuteScalarAsync(cancellationToken))!);
                        break;
                    case RemoveEvent r:
                        Set(_remove, r.Id);
                        await _remove.ExecuteNonQueryAsync(cancellationToken);
                        break;
                    case RescheduleEvent r:
                        Set(_reschedule, r.Id, r.Attempts, r.NextAttemptAtMs, (object?)r.LastError ?? DBNull.Value);
                        await _reschedule.ExecuteNonQueryAsync(cancellationToken);
                        break;
                }
            }

            await transaction.CommitAsync(cancellationToken);
        }
        catch
        {
            // A broken connection is not reused.
            await DisposeAsync();
            throw;
        }

        return ids;
    }

    /// <summary>The writer's own connection and prepared statements, kept open between batches.</summary>
    private async Task<SqliteConnection> WriterAsync(CancellationToken cancellationToken)
    {
        if (_writer is not null)
        {
            return _writer;
        }

        var connection = await database.OpenAsync(cancellationToken);
        _append = Command(connection, null, """
            INSERT INTO async_events (function_name, qualifier, request_id, payload, client_context, attempts, enqueued_at, next_attempt_at)
            VALUES ($function, $qualifier, $request, $payload, $context, 0, $enqueued, $enqueued) RETURNING id;
            """, "$function", "$qualifier", "$request", "$payload", "$context", "$enqueued");
        _remove = Command(connection, null, "DELETE FROM async_events WHERE id = $id;", "$id");
        _reschedule = Command(connection, null,
            "UPDATE async_events SET attempts = $attempts, next_attempt_at = $next, last_error = $error WHERE id = $id;", "$id", "$attempts", "$next", "$error");
        _writer = connection;
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var command in new[] { _append, _remove, _reschedule })
        {
            if (command is not null)
            {
                await command.DisposeAsync();
            }
        }

        if (_writer is not null)
        {
            await _writer.DisposeAsync();
        }

        (_writer, _append, _remove, _reschedule) = (null, null, null, null);
    }

    public async Task<IReadOnlyList<StoredEvent>> LoadAllAsync(CancellationToken cancellationToken) =>
        await database.QueryAsync("SELECT id, function_name, qualifier, request_id, client_context, attempts, enqueued_at, next_attempt_at FROM async_events ORDER BY id;", [],
            r => new StoredEvent(r.GetInt64(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.GetInt32(5), r.GetInt64(6), r.GetInt64(7)),
            cancellationToken);

    public async Task<byte[]?> PayloadAsync(long id, CancellationToken cancellationToken) =>
        await database.ScalarAsync("SELECT payload FROM async_events WHERE id = $id;", [("$id", id)], cancellationToken) as byte[];

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
