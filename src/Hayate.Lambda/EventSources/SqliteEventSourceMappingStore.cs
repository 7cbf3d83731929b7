using System.Text.Json;
using System.Text.Json.Serialization;
using Hayate.Kernel.Storage;

namespace Hayate.Lambda.EventSources;

/// <summary>Event source mappings as JSON documents keyed by UUID, and stream checkpoints beside them.</summary>
public sealed class SqliteEventSourceMappingStore(SqliteDatabase database) : IEventSourceMappingStore
{
    public async Task CreateAsync(EventSourceMapping mapping, IReadOnlyDictionary<string, string?> checkpoints, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = connection.BeginTransaction();
        await using (var insert = connection.CreateCommand())
        {
            insert.Transaction = transaction;
            insert.CommandText = "INSERT INTO event_source_mappings (uuid, function_name, event_source_arn, config) VALUES ($u, $f, $a, $c);";
            insert.Parameters.AddWithValue("$u", mapping.Uuid);
            insert.Parameters.AddWithValue("$f", mapping.FunctionName);
            insert.Parameters.AddWithValue("$a", mapping.EventSourceArn);
            insert.Parameters.AddWithValue("$c", Serialize(mapping));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        foreach (var (shard, after) in checkpoints)
        {
            await using var checkpoint = connection.CreateCommand();
            checkpoint.Transaction = transaction;
            checkpoint.CommandText = "INSERT INTO event_source_checkpoints (uuid, shard_id, after_sequence) VALUES ($u, $s, $a);";
            checkpoint.Parameters.AddWithValue("$u", mapping.Uuid);
            checkpoint.Parameters.AddWithValue("$s", shard);
            checkpoint.Parameters.AddWithValue("$a", (object?)after ?? DBNull.Value);
            await checkpoint.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<EventSourceMapping?> GetAsync(string uuid, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT config FROM event_source_mappings WHERE uuid = $u;";
        command.Parameters.AddWithValue("$u", uuid);
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? Deserialize(json) : null;
    }

    public async Task<IReadOnlyList<EventSourceMapping>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT config FROM event_source_mappings ORDER BY uuid;";
        var list = new List<EventSourceMapping>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(Deserialize(reader.GetString(0)));
        }

        return list;
    }

    public async Task<bool> UpdateAsync(EventSourceMapping mapping, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE event_source_mappings SET function_name = $f, config = $c WHERE uuid = $u;";
        command.Parameters.AddWithValue("$u", mapping.Uuid);
        command.Parameters.AddWithValue("$f", mapping.FunctionName);
        command.Parameters.AddWithValue("$c", Serialize(mapping));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> DeleteAsync(string uuid, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM event_source_mappings WHERE uuid = $u;";
        command.Parameters.AddWithValue("$u", uuid);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyDictionary<string, string?>> CheckpointsAsync(string uuid, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT shard_id, after_sequence FROM event_source_checkpoints WHERE uuid = $u;";
        command.Parameters.AddWithValue("$u", uuid);
        var checkpoints = new Dictionary<string, string?>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            checkpoints[reader.GetString(0)] = reader.IsDBNull(1) ? null : reader.GetString(1);
        }

        return checkpoints;
    }

    public async Task SetCheckpointAsync(string uuid, string shardId, string? afterSequence, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        // Only while the mapping exists: a checkpoint written by a poller that is stopping must not outlive a delete.
        command.CommandText = """
            INSERT INTO event_source_checkpoints (uuid, shard_id, after_sequence)
            SELECT $u, $s, $a WHERE EXISTS (SELECT 1 FROM event_source_mappings WHERE uuid = $u)
            ON CONFLICT (uuid, shard_id) DO UPDATE SET after_sequence = excluded.after_sequence;
            """;
        command.Parameters.AddWithValue("$u", uuid);
        command.Parameters.AddWithValue("$s", shardId);
        command.Parameters.AddWithValue("$a", (object?)afterSequence ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string Serialize(EventSourceMapping mapping) => JsonSerializer.Serialize(mapping, EventSourceJson.Default.EventSourceMapping);

    private static EventSourceMapping Deserialize(string json) =>
        JsonSerializer.Deserialize(json, EventSourceJson.Default.EventSourceMapping) ?? throw new InvalidDataException("a stored event source mapping is empty");
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EventSourceMapping))]
internal sealed partial class EventSourceJson : JsonSerializerContext;
