using Hayate.Kernel.Storage;
using Microsoft.Data.Sqlite;

namespace Hayate.Sqs;

/// <summary>Queues and messages in SQLite: a receive is one IMMEDIATE transaction, so no two receivers get the same message.</summary>
public sealed class SqliteQueueStore(SqliteDatabase database) : IQueueStore
{
    private const string MessageColumns = "id, message_id, body, attributes, md5_body, md5_attributes, sent_at, visible_at, expires_at, receive_count, first_received_at, receipt, group_id, dedup_id, sequence_number";

    public async Task<bool> TryCreateQueueAsync(StoredQueue queue, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO sqs_queues (name, created_at, modified_at, attributes) VALUES ($n, $c, $m, $a) ON CONFLICT (name) DO NOTHING;";
        command.Parameters.AddWithValue("$n", queue.Name);
        command.Parameters.AddWithValue("$c", queue.CreatedAt);
        command.Parameters.AddWithValue("$m", queue.ModifiedAt);
        command.Parameters.AddWithValue("$a", queue.Attributes);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<StoredQueue?> GetQueueAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, created_at, modified_at, attributes FROM sqs_queues WHERE name = $n;";
        command.Parameters.AddWithValue("$n", name);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new StoredQueue(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3)) : null;
    }

    public async Task<IReadOnlyList<StoredQueue>> ListQueuesAsync(string prefix, string? afterName, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, created_at, modified_at, attributes FROM sqs_queues WHERE name > $after AND substr(name, 1, length($p)) = $p ORDER BY name LIMIT $limit;";
        command.Parameters.AddWithValue("$after", afterName ?? "");
        command.Parameters.AddWithValue("$p", prefix);
        command.Parameters.AddWithValue("$limit", limit);
        var list = new List<StoredQueue>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new StoredQueue(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetString(3)));
        }

        return list;
    }

    public async Task<bool> DeleteQueueAsync(string name, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM sqs_messages WHERE queue_name = $n; DELETE FROM sqs_dedup WHERE queue_name = $n; DELETE FROM sqs_queues WHERE name = $n;";
        command.Parameters.AddWithValue("$n", name);
        var rows = await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return rows > 0;
    }

    public async Task<bool> UpdateQueueAsync(string name, string attributes, long modifiedAt, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE sqs_queues SET attributes = $a, modified_at = $m WHERE name = $n;";
        command.Parameters.AddWithValue("$n", name);
        command.Parameters.AddWithValue("$a", attributes);
        command.Parameters.AddWithValue("$m", modifiedAt);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task SetRetentionAsync(string queue, long retentionMs, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE sqs_messages SET expires_at = sent_at + $r WHERE queue_name = $q;";
        command.Parameters.AddWithValue("$q", queue);
        command.Parameters.AddWithValue("$r", retentionMs);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<string?> GetTagsAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT tags FROM sqs_queues WHERE name = $n;";
        command.Parameters.AddWithValue("$n", name);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task<bool> SetTagsAsync(string name, string tags, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE sqs_queues SET tags = $t WHERE name = $n;";
        command.Parameters.AddWithValue("$n", name);
        command.Parameters.AddWithValue("$t", tags);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task AddMessageAsync(string queue, StoredMessage message, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await InsertAsync(connection, null, queue, message, cancellationToken);
    }

    public async Task<FifoSendOutcome> AddFifoMessageAsync(string queue, StoredMessage message, long dedupSince, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using (var find = connection.CreateCommand())
        {
            find.Transaction = transaction;
            find.CommandText = "SELECT message_id, sequence_number FROM sqs_dedup WHERE queue_name = $q AND dedup_id = $d AND sent_at > $since;";
            find.Parameters.AddWithValue("$q", queue);
            find.Parameters.AddWithValue("$d", message.DeduplicationId);
            find.Parameters.AddWithValue("$since", dedupSince);
            await using var reader = await find.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                return new FifoSendOutcome(reader.GetString(0), reader.GetInt64(1), true);
            }
        }

        long sequence;
        await using (var next = connection.CreateCommand())
        {
            next.Transaction = transaction;
            next.CommandText = "SELECT COALESCE(MAX(sequence_number), 0) FROM sqs_dedup WHERE queue_name = $q;";
            next.Parameters.AddWithValue("$q", queue);
            sequence = Math.Max(Convert.ToInt64(await next.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) + 1, message.SentAt * 1000);
        }

        await InsertAsync(connection, transaction, queue, message with { SequenceNumber = sequence }, cancellationToken);
        await using (var remember = connection.CreateCommand())
        {
            remember.Transaction = transaction;
            remember.CommandText = "INSERT INTO sqs_dedup (queue_name, dedup_id, message_id, sequence_number, sent_at) VALUES ($q, $d, $m, $s, $t) " +
                "ON CONFLICT (queue_name, dedup_id) DO UPDATE SET message_id = $m, sequence_number = $s, sent_at = $t;";
            remember.Parameters.AddWithValue("$q", queue);
            remember.Parameters.AddWithValue("$d", message.DeduplicationId);
            remember.Parameters.AddWithValue("$m", message.MessageId);
            remember.Parameters.AddWithValue("$s", sequence);
            remember.Parameters.AddWithValue("$t", message.SentAt);
            await remember.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return new FifoSendOutcome(message.MessageId, sequence, false);
    }

    public async Task<(IReadOnlyList<StoredMessage> Received, int Moved)> ReceiveAsync(string queue, ReceiveSpec spec, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using (var expire = connection.CreateCommand())
        {
            expire.Transaction = transaction;
            expire.CommandText = "DELETE FROM sqs_messages WHERE queue_name = $q AND expires_at <= $now;";
            expire.Parameters.AddWithValue("$q", queue);
            expire.Parameters.AddWithValue("$now", spec.Now);
            await expire.ExecuteNonQueryAsync(cancellationToken);
        }

        var candidates = new List<StoredMessage>();
        await using (var select = connection.CreateCommand())
        {
            select.Transaction = transaction;
            // FIFO: a group with a message in flight is blocked until that message is deleted or reappears.
            var blocked = spec.Fifo
                ? " AND group_id NOT IN (SELECT group_id FROM sqs_messages WHERE queue_name = $q AND visible_at > $now AND receive_count > 0 AND group_id IS NOT NULL)"
                : "";
            select.CommandText = $"SELECT {MessageColumns} FROM sqs_messages WHERE queue_name = $q AND visible_at <= $now{blocked} ORDER BY id LIMIT $limit;";
            select.Parameters.AddWithValue("$q", queue);
            select.Parameters.AddWithValue("$now", spec.Now);
            select.Parameters.AddWithValue("$limit", (spec.Max * 4) + 20);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                candidates.Add(ReadMessage(reader));
            }
        }

        var received = new List<StoredMessage>();
        var moved = 0;
        var movedGroups = new HashSet<string>(StringComparer.Ordinal);
        foreach (var message in candidates)
        {
            if (received.Count >= spec.Max)
            {
                break;
            }

            if (spec.MaxReceiveCount is { } limit && spec.DeadLetterQueue is { } dlq && message.ReceiveCount >= limit)
            {
                await using var move = connection.CreateCommand();
                move.Transaction = transaction;
                move.CommandText = "DELETE FROM sqs_messages WHERE id = $id;";
                move.Parameters.AddWithValue("$id", message.Id);
                await move.ExecuteNonQueryAsync(cancellationToken);
                await InsertAsync(connection, transaction, dlq, message with
                {
                    VisibleAt = spec.Now,
                    ExpiresAt = message.SentAt + spec.DeadLetterRetentionMs,
                    ReceiveCount = 0,
                    FirstReceivedAt = null,
                    Receipt = null,
                }, cancellationToken);
                moved++;
                if (message.GroupId is { } group)
                {
                    movedGroups.Add(group);
                }

                continue;
            }

            var receipt = Guid.NewGuid().ToString("N");
            await using var take = connection.CreateCommand();
            take.Transaction = transaction;
            take.CommandText = "UPDATE sqs_messages SET receive_count = receive_count + 1, visible_at = $until, receipt = $r, first_received_at = COALESCE(first_received_at, $now) WHERE id = $id;";
            take.Parameters.AddWithValue("$id", message.Id);
            take.Parameters.AddWithValue("$until", spec.VisibleUntil);
            take.Parameters.AddWithValue("$r", receipt);
            take.Parameters.AddWithValue("$now", spec.Now);
            await take.ExecuteNonQueryAsync(cancellationToken);
            received.Add(message with
            {
                ReceiveCount = message.ReceiveCount + 1,
                VisibleAt = spec.VisibleUntil,
                Receipt = receipt,
                FirstReceivedAt = message.FirstReceivedAt ?? spec.Now,
            });
        }

        await transaction.CommitAsync(cancellationToken);
        return (received, moved);
    }

    public async Task<ReceiptOutcome> DeleteMessageAsync(string queue, long id, string receipt, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM sqs_messages WHERE id = $id AND queue_name = $q AND receipt = $r;";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$q", queue);
        command.Parameters.AddWithValue("$r", receipt);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1 ? ReceiptOutcome.Done : ReceiptOutcome.Stale;
    }

    public async Task DeleteMessagesAsync(string queue, IReadOnlyList<(long Id, string Receipt)> messages, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM sqs_messages WHERE id = $id AND queue_name = $q AND receipt = $r;";
        command.Parameters.AddWithValue("$q", queue);
        var id = command.Parameters.Add("$id", SqliteType.Integer);
        var receipt = command.Parameters.Add("$r", SqliteType.Text);
        foreach (var message in messages)
        {
            id.Value = message.Id;
            receipt.Value = message.Receipt;
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<ReceiptOutcome> ChangeVisibilityAsync(string queue, long id, string receipt, long now, long visibleAt, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE sqs_messages SET visible_at = $v WHERE id = $id AND queue_name = $q AND receipt = $r AND visible_at > $now;";
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$q", queue);
        command.Parameters.AddWithValue("$r", receipt);
        command.Parameters.AddWithValue("$now", now);
        command.Parameters.AddWithValue("$v", visibleAt);
        if (await command.ExecuteNonQueryAsync(cancellationToken) == 1)
        {
            return ReceiptOutcome.Done;
        }

        await using var check = connection.CreateCommand();
        check.CommandText = "SELECT COUNT(*) FROM sqs_messages WHERE id = $id AND queue_name = $q AND receipt = $r;";
        check.Parameters.AddWithValue("$id", id);
        check.Parameters.AddWithValue("$q", queue);
        check.Parameters.AddWithValue("$r", receipt);
        return Convert.ToInt64(await check.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture) > 0
            ? ReceiptOutcome.NotInFlight
            : ReceiptOutcome.Stale;
    }

    public async Task PurgeAsync(string queue, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM sqs_messages WHERE queue_name = $q;";
        command.Parameters.AddWithValue("$q", queue);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<(long Visible, long InFlight, long Delayed)> CountAsync(string queue, long now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COALESCE(SUM(visible_at <= $now), 0), COALESCE(SUM(visible_at > $now AND receive_count > 0), 0), COALESCE(SUM(visible_at > $now AND receive_count = 0), 0) " +
            "FROM sqs_messages WHERE queue_name = $q AND expires_at > $now;";
        command.Parameters.AddWithValue("$q", queue);
        command.Parameters.AddWithValue("$now", now);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    public async Task<long?> NextVisibleAtAsync(string queue, long now, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT MIN(visible_at) FROM sqs_messages WHERE queue_name = $q AND visible_at > $now;";
        command.Parameters.AddWithValue("$q", queue);
        command.Parameters.AddWithValue("$now", now);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is null or DBNull ? null : Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task InsertAsync(SqliteConnection connection, SqliteTransaction? transaction, string queue, StoredMessage m, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO sqs_messages (queue_name, message_id, body, attributes, md5_body, md5_attributes, sent_at, visible_at, expires_at, receive_count, first_received_at, receipt, group_id, dedup_id, sequence_number) " +
            "VALUES ($q, $mid, $body, $attrs, $md5b, $md5a, $sent, $visible, $expires, $count, $first, $receipt, $group, $dedup, $seq);";
        command.Parameters.AddWithValue("$q", queue);
        command.Parameters.AddWithValue("$mid", m.MessageId);
        command.Parameters.AddWithValue("$body", m.Body);
        command.Parameters.AddWithValue("$attrs", m.Attributes);
        command.Parameters.AddWithValue("$md5b", m.Md5OfBody);
        command.Parameters.AddWithValue("$md5a", (object?)m.Md5OfAttributes ?? DBNull.Value);
        command.Parameters.AddWithValue("$sent", m.SentAt);
        command.Parameters.AddWithValue("$visible", m.VisibleAt);
        command.Parameters.AddWithValue("$expires", m.ExpiresAt);
        command.Parameters.AddWithValue("$count", m.ReceiveCount);
        command.Parameters.AddWithValue("$first", (object?)m.FirstReceivedAt ?? DBNull.Value);
        command.Parameters.AddWithValue("$receipt", (object?)m.Receipt ?? DBNull.Value);
        command.Parameters.AddWithValue("$group", (object?)m.GroupId ?? DBNull.Value);
        command.Parameters.AddWithValue("$dedup", (object?)m.DeduplicationId ?? DBNull.Value);
        command.Parameters.AddWithValue("$seq", (object?)m.SequenceNumber ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static StoredMessage ReadMessage(SqliteDataReader r) => new()
    {
        Id = r.GetInt64(0),
        MessageId = r.GetString(1),
        Body = r.GetString(2),
        Attributes = r.GetString(3),
        Md5OfBody = r.GetString(4),
        Md5OfAttributes = r.IsDBNull(5) ? null : r.GetString(5),
        SentAt = r.GetInt64(6),
        VisibleAt = r.GetInt64(7),
        ExpiresAt = r.GetInt64(8),
        ReceiveCount = r.GetInt32(9),
        FirstReceivedAt = r.IsDBNull(10) ? null : r.GetInt64(10),
        Receipt = r.IsDBNull(11) ? null : r.GetString(11),
        GroupId = r.IsDBNull(12) ? null : r.GetString(12),
        DeduplicationId = r.IsDBNull(13) ? null : r.GetString(13),
        SequenceNumber = r.IsDBNull(14) ? null : r.GetInt64(14),
    };
}
