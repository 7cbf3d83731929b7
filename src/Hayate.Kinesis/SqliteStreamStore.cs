using Hayate.Kernel.Storage;
using Microsoft.Data.Sqlite;

namespace Hayate.Kinesis;

/// <summary>Streams, shards and records in SQLite: an append is one IMMEDIATE transaction, so a shard's sequences never repeat or reorder.</summary>
public sealed class SqliteStreamStore(SqliteDatabase database) : IStreamStore
{
    private const string StreamColumns = "name, created_at, retention_hours, mode, shard_count";

    public async Task<bool> TryCreateStreamAsync(StoredStream stream, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        if (await transaction.ExecuteAsync(
            "INSERT INTO kinesis_streams (name, created_at, retention_hours, mode, shard_count) VALUES ($n, $c, $r, $m, $s) ON CONFLICT (name) DO NOTHING;",
            [("$n", stream.Name), ("$c", stream.CreatedAt), ("$r", stream.RetentionHours), ("$m", stream.Mode), ("$s", stream.ShardCount)], cancellationToken) == 0)
        {
            return false;
        }

        await using (var shards = connection.CreateCommand())
        {
            shards.Transaction = transaction;
            shards.CommandText = "INSERT INTO kinesis_shards (stream_name, shard, last_sequence) VALUES ($n, $i, $base);";
            shards.Parameters.AddWithValue("$n", stream.Name);
            shards.Parameters.AddWithValue("$base", stream.SequenceBase);
            var index = shards.Parameters.Add("$i", SqliteType.Integer);
            for (var i = 0; i < stream.ShardCount; i++)
            {
                index.Value = i;
                await shards.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public Task<StoredStream?> GetStreamAsync(string name, CancellationToken cancellationToken) =>
        database.QueryFirstAsync($"SELECT {StreamColumns} FROM kinesis_streams WHERE name = $n;", [("$n", name)], ReadStream, cancellationToken);

    public async Task<IReadOnlyList<StoredStream>> ListStreamsAsync(string? afterName, int limit, CancellationToken cancellationToken) =>
        await database.QueryAsync($"SELECT {StreamColumns} FROM kinesis_streams WHERE name > $after ORDER BY name LIMIT $limit;",
            [("$after", afterName ?? ""), ("$limit", limit)], ReadStream, cancellationToken);

    public async Task<bool> DeleteStreamAsync(string name, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await transaction.ExecuteAsync("DELETE FROM kinesis_records WHERE stream_name = $n; DELETE FROM kinesis_streams WHERE name = $n;", [("$n", name)], cancellationToken);

        // The second statement's count alone: whether the stream itself was there.
        var deleted = (long)(await transaction.ScalarAsync("SELECT changes();", [], cancellationToken))! > 0;
        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    public async Task<IReadOnlyList<long>?> AppendAsync(string stream, IReadOnlyList<StreamAppend> records, long arrivedAt, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var last = (await transaction.QueryAsync("SELECT shard, last_sequence FROM kinesis_shards WHERE stream_name = $n;", [("$n", stream)],
            r => (Shard: r.GetInt32(0), Last: r.GetInt64(1)), cancellationToken)).ToDictionary(s => s.Shard, s => s.Last);
        var touched = records.Select(r => r.Shard).Distinct().ToList();
        if (touched.Any(shard => !last.ContainsKey(shard)))
        {
            // Deleted since the caller looked it up.
            return null;
        }

        // Arrival times never go back within a shard: a put that took its time before a later one committed first arrives with it.
        await using (var latest = connection.CreateCommand())
        {
            latest.Transaction = transaction;
            latest.CommandText = "SELECT arrived_at FROM kinesis_records WHERE stream_name = $n AND shard = $s ORDER BY sequence DESC LIMIT 1;";
            latest.Parameters.AddWithValue("$n", stream);
            var shard = latest.Parameters.Add("$s", SqliteType.Integer);
            foreach (var index in touched)
            {
                shard.Value = index;
                if (await latest.ExecuteScalarAsync(cancellationToken) is long previous && previous > arrivedAt)
                {
                    arrivedAt = previous;
                }
            }
        }

        var sequences = new List<long>(records.Count);
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO kinesis_records (stream_name, shard, sequence, partition_key, data, arrived_at) VALUES ($n, $s, $q, $k, $d, $t);";
            insert.Parameters.AddWithValue("$n", stream);
            insert.Parameters.AddWithValue("$t", arrivedAt);
            var shard = insert.Parameters.Add("$s", SqliteType.Integer);
            var sequence = insert.Parameters.Add("$q", SqliteType.Integer);
            var key = insert.Parameters.Add("$k", SqliteType.Text);
            var data = insert.Parameters.Add("$d", SqliteType.Blob);
            foreach (var record in records)
            {
                var next = last[record.Shard] + 1;
                last[record.Shard] = next;
                shard.Value = record.Shard;
                sequence.Value = next;
                key.Value = record.PartitionKey;
                data.Value = record.Data;
                await insert.ExecuteNonQueryAsync(cancellationToken);
                sequences.Add(next);
            }
        }

        await using (var update = connection.CreateCommand())
        {
            update.Transaction = transaction;
            update.CommandText = "UPDATE kinesis_shards SET last_sequence = $q WHERE stream_name = $n AND shard = $s;";
            update.Parameters.AddWithValue("$n", stream);
            var shard = update.Parameters.Add("$s", SqliteType.Integer);
            var sequence = update.Parameters.Add("$q", SqliteType.Integer);
            foreach (var index in touched)
            {
                shard.Value = index;
                sequence.Value = last[index];
                await update.ExecuteNonQueryAsync(cancellationToken);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return sequences;
    }

    public async Task<IReadOnlyList<StoredStreamRecord>> ReadAsync(string stream, int shard, long afterSequence, long notBefore, int limit, long maxBytes, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT sequence, partition_key, data, arrived_at FROM kinesis_records " +
            "WHERE stream_name = $n AND shard = $s AND sequence > $after AND arrived_at >= $since ORDER BY sequence LIMIT $limit;",
            [("$n", stream), ("$s", shard), ("$after", afterSequence), ("$since", notBefore), ("$limit", limit)]);
        var list = new List<StoredStreamRecord>();
        var bytes = 0L;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            // Rows come one at a time: stop before loading what would not be returned.
            bytes += reader.GetBytes(2, 0, null, 0, 0);
            if (list.Count > 0 && bytes > maxBytes)
            {
                break;
            }

            list.Add(new StoredStreamRecord(shard, reader.GetInt64(0), reader.GetString(1), (byte[])reader.GetValue(2), reader.GetInt64(3)));
        }

        return list;
    }

    public async Task<long> LatestSequenceAsync(string stream, int shard, CancellationToken cancellationToken) =>
        await database.ScalarAsync("SELECT last_sequence FROM kinesis_shards WHERE stream_name = $n AND shard = $s;", [("$n", stream), ("$s", shard)], cancellationToken) is long value ? value : 0;

    public async Task<long> SequenceBeforeAsync(string stream, int shard, long arrivedBefore, CancellationToken cancellationToken) =>
        (long)(await database.ScalarAsync("SELECT COALESCE(MAX(sequence), 0) FROM kinesis_records WHERE stream_name = $n AND shard = $s AND arrived_at < $t;",
            [("$n", stream), ("$s", shard), ("$t", arrivedBefore)], cancellationToken))!;

    public async Task TrimAsync(string stream, long arrivedBefore, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await database.ExecuteAsync("DELETE FROM kinesis_records WHERE stream_name = $n AND arrived_at < $t;", [("$n", stream), ("$t", arrivedBefore)], cancellationToken);
    }

    private static StoredStream ReadStream(SqliteDataReader reader) =>
        new(reader.GetString(0), reader.GetInt64(1), reader.GetInt32(2), reader.GetString(3), reader.GetInt32(4));
}
