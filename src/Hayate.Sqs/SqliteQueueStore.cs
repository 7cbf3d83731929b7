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
        return await database.ExecuteAsync(
            "INSERT INTO sqs_queues (name, created_at, modified_at, attributes) VALUES ($n, $c, $m, $a) ON CONFLICT (name) DO NOTHING;",
            [("$n", queue.Name), ("$c", queue.CreatedAt), ("$m", queue.ModifiedAt), ("$a", queue.Attributes)], cancellationToken) == 1;
    }

    public Task<StoredQueue?> GetQueueAsync(string name, CancellationToken cancellationToken) =>
        database.QueryFirstAsync("SELECT name, created_at, modified_at, attributes FROM sqs_queues WHERE name = $n;", [("$n", name)], ReadQueue, cancellationToken);

    public async Task<IReadOnlyList<StoredQueue>> ListQueuesAsync(string prefix, string? afterName, int limit, CancellationToken cancellationToken) =>
        await database.QueryAsync(
            "SELECT name, created_at, modified_at, attributes FROM sqs_queues WHERE name > $after AND substr(name, 1, length($p)) = $p ORDER BY name LIMIT $limit;",
            [("$after", afterName ?? ""), ("$p", prefix), ("$limit", limit)], ReadQueue, cancellationToken);

    public async Task<bool> DeleteQueueAsync(string name, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var rows = await transaction.ExecuteAsync(
            "DELETE FROM sqs_messages WHERE queue_name = $n; DELETE FROM sqs_dedup WHERE queue_name = $n; DELETE FROM sqs_queues WHERE name = $n;", [("$n", name)], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return rows > 0;
    }

    public async Task<bool> UpdateQueueAsync(string name, string attributes, long modifiedAt, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        return await database.ExecuteAsync("UPDATE sqs_queues SET attributes = $a, modified_at = $m WHERE name = $n;",
            [("$n", name), ("$a", attributes), ("$m", modifiedAt)], cancellationToken) == 1;
    }

    public async Task SetRetentionAsync(string queue, long retentionMs, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await database.ExecuteAsync("UPDATE sqs_messages SET expires_at = sent_at + $r WHERE queue_name = $q;", [("$q", queue), ("$r", retentionMs)], cancellationToken);
    }

    public async Task<string?> GetTagsAsync(string name, CancellationToken cancellationToken) =>
        await database.ScalarAsync("SELECT tags FROM sqs_queues WHERE name = $n;", [("$n", name)], cancellationToken) as string;

    public async Task<bool> SetTagsAsync(string name, string tags, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        return await database.ExecuteAsync("UPDATE sqs_queues SET tags = $t WHERE name = $n;", [("$n", name), ("$t", tags)], cancellationToken) == 1;
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
        var duplicates = await transaction.QueryAsync(
            "SELECT message_id, sequence_number FROM sqs_dedup WHERE queue_name = $q AND dedup_id = $d AND sent_at > $since;",
            [("$q", queue), ("$d", message.DeduplicationId), ("$since", dedupSince)],
            r => new FifoSendOutcome(r.GetString(0), r.GetInt64(1), true), cancellationToken);
        if (duplicates.Count > 0)
        {
            return duplicates[0];
        }

        var last = await transaction.ScalarAsync("SELECT COALESCE(MAX(sequence_number), 0) FROM sqs_dedup WHERE queue_name = $q;", [("$q", queue)], cancellationToken);
        var sequence = Math.Max((long)last! + 1, message.SentAt * 1000);
        await InsertAsync(connection, transaction, queue, message with { SequenceNumber = sequence }, cancellationToken);
        await transaction.ExecuteAsync(
            "INSERT INTO sqs_dedup (queue_name, dedup_id, message_id, sequence_number, sent_at) VALUES ($q, $d, $m, $s, $t) " +
            "ON CONFLICT (queue_name, dedup_id) DO UPDATE SET message_id = $m, sequence_number = $s, sent_at = $t;",
            [("$q", queue), ("$d", message.DeduplicationId), ("$m", message.MessageId), ("$s", sequence), ("$t", message.SentAt)], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new FifoSendOutcome(message.MessageId, sequence, false);
    }

    public async Task<(IReadOnlyList<StoredMessage> Received, int Moved)> ReceiveAsync(string queue, ReceiveSpec spec, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await transaction.ExecuteAsync("DELETE FROM sqs_messages WHERE queue_name = $q AND expires_at <= $now;", [("$q", queue), ("$now", spec.Now)], cancellationToken);

        // FIFO: a group with a message in flight is blocked until that message is deleted or reappears.
        var blocked = spec.Fifo
            ? " AND group_id NOT IN (SELECT group_id FROM sqs_messages WHERE queue_name = $q AND visible_at > $now AND receive_count > 0 AND group_id IS NOT NULL)"
            : "";
        var candidates = await transaction.QueryAsync(
            $"SELECT {MessageColumns} FROM sqs_messages WHERE queue_name = $q AND visible_at <= $now{blocked} ORDER BY id LIMIT $limit;",
            [("$q", queue), ("$now", spec.Now), ("$limit", (spec.Max * 4) + 20)], ReadMessage, cancellationToken);

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
                await transaction.ExecuteAsync("DELETE FROM sqs_messages WHERE id = $id;", [("$id", message.Id)], cancellationToken);
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
            await transaction.ExecuteAsync(
                "UPDATE sqs_messages SET receive_count = receive_count + 1, visible_at = $until, receipt = $r, first_received_at = COALESCE(first_received_at, $now) WHERE id = $id;",
                [("$id", message.Id), ("$until", spec.VisibleUntil), ("$r", receipt), ("$now", spec.Now)], cancellationToken);
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
        return await database.ExecuteAsync("DELETE FROM sqs_messages WHERE id = $id AND queue_name = $q AND receipt = $r;",
            [("$id", id), ("$q", queue), ("$r", receipt)], cancellationToken) == 1 ? ReceiptOutcome.Done : ReceiptOutcome.Stale;
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
        if (await connection.ExecuteAsync("UPDATE sqs_messages SET visible_at = $v WHERE id = $id AND queue_name = $q AND receipt = $r AND visible_at > $now;",
            [("$id", id), ("$q", queue), ("$r", receipt), ("$now", now), ("$v", visibleAt)], cancellationToken) == 1)
        {
            return ReceiptOutcome.Done;
        }

        var held = await connection.ScalarAsync("SELECT COUNT(*) FROM sqs_messages WHERE id = $id AND queue_name = $q AND receipt = $r;",
            [("$id", id), ("$q", queue), ("$r", receipt)], cancellationToken);
        return (long)held! > 0 ? ReceiptOutcome.NotInFlight : ReceiptOutcome.Stale;
    }

    public async Task PurgeAsync(string queue, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await database.ExecuteAsync("DELETE FROM sqs_messages WHERE queue_name = $q;", [("$q", queue)], cancellationToken);
    }

    public async Task<(long Visible, long InFlight, long Delayed)> CountAsync(string queue, long now, CancellationToken cancellationToken)
    {
        var counts = await database.QueryAsync(
            "SELECT COALESCE(SUM(visible_at <= $now), 0), COALESCE(SUM(visible_at > $now AND receive_count > 0), 0), COALESCE(SUM(visible_at > $now AND receive_count = 0), 0) " +
            "FROM sqs_messages WHERE queue_name = $q AND expires_at > $now;",
            [("$q", queue), ("$now", now)], r => (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2)), cancellationToken);
        return counts[0];
    }

    public async Task<long?> NextVisibleAtAsync(string queue, long now, CancellationToken cancellationToken) =>
        (long?)await database.ScalarAsync("SELECT MIN(visible_at) FROM sqs_messages WHERE queue_name = $q AND visible_at > $now;", [("$q", queue), ("$now", now)], cancellationToken);

    private static async Task InsertAsync(SqliteConnection connection, SqliteTransaction? transaction, string queue, StoredMessage m, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(InsertMessage, MessageParameters(queue, m), transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private const string InsertMessage =
        "INSERT INTO sqs_messages (queue_name, message_id, body, attributes, md5_body, md5_attributes, sent_at, visible_at, expires_at, receive_count, first_received_at, receipt, group_id, dedup_id, sequence_number) " +
        "VALUES ($q, $mid, $body, $attrs, $md5b, $md5a, $sent, $visible, $expires, $count, $first, $receipt, $group, $dedup, $seq);";

    private static (string, object?)[] MessageParameters(string queue, StoredMessage m) =>
    [
        ("$q", queue), ("$mid", m.MessageId), ("$body", m.Body), ("$attrs", m.Attributes), ("$md5b", m.Md5OfBody), ("$md5a", m.Md5OfAttributes),
        ("$sent", m.SentAt), ("$visible", m.VisibleAt), ("$expires", m.ExpiresAt), ("$count", m.ReceiveCount), ("$first", m.FirstReceivedAt),
        ("$receipt", m.Receipt), ("$group", m.GroupId), ("$dedup", m.DeduplicationId), ("$seq", m.SequenceNumber),
    ];

    private static StoredQueue ReadQueue(SqliteDataReader r) => new(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3));

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
