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
        await transaction.ExecuteAsync("INSERT INTO event_source_mappings (uuid, function_name, event_source_arn, config) VALUES ($u, $f, $a, $c);",
            [("$u", mapping.Uuid), ("$f", mapping.FunctionName), ("$a", mapping.EventSourceArn), ("$c", Serialize(mapping))], cancellationToken);
        foreach (var (shard, after) in checkpoints)
        {
            await transaction.ExecuteAsync("INSERT INTO event_source_checkpoints (uuid, shard_id, after_sequence) VALUES ($u, $s, $a);",
                [("$u", mapping.Uuid), ("$s", shard), ("$a", after)], cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<EventSourceMapping?> GetAsync(string uuid, CancellationToken cancellationToken) =>
        await database.ScalarAsync("SELECT config FROM event_source_mappings WHERE uuid = $u;", [("$u", uuid)], cancellationToken) is string json ? Deserialize(json) : null;

    public async Task<IReadOnlyList<EventSourceMapping>> ListAsync(CancellationToken cancellationToken) =>
        await database.QueryAsync("SELECT config FROM event_source_mappings ORDER BY uuid;", [], r => Deserialize(r.GetString(0)), cancellationToken);

    public async Task<bool> UpdateAsync(EventSourceMapping mapping, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        return await database.ExecuteAsync("UPDATE event_source_mappings SET function_name = $f, config = $c WHERE uuid = $u;",
            [("$u", mapping.Uuid), ("$f", mapping.FunctionName), ("$c", Serialize(mapping))], cancellationToken) == 1;
    }

    public async Task<bool> DeleteAsync(string uuid, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        return await database.ExecuteAsync("DELETE FROM event_source_mappings WHERE uuid = $u;", [("$u", uuid)], cancellationToken) == 1;
    }

    public async Task<IReadOnlyDictionary<string, string?>> CheckpointsAsync(string uuid, CancellationToken cancellationToken) =>
        (await database.QueryAsync("SELECT shard_id, after_sequence FROM event_source_checkpoints WHERE uuid = $u;", [("$u", uuid)],
            r => (Shard: r.GetString(0), After: r.IsDBNull(1) ? null : r.GetString(1)), cancellationToken))
        .ToDictionary(c => c.Shard, c => c.After, StringComparer.Ordinal);

    public async Task SetCheckpointAsync(string uuid, string shardId, string? afterSequence, CancellationToken cancellationToken)
    {
        using var turn = await database.WriteTurnAsync(cancellationToken);
        // Only while the mapping exists: a checkpoint written by a poller that is stopping must not outlive a delete.
        await database.ExecuteAsync("""
            INSERT INTO event_source_checkpoints (uuid, shard_id, after_sequence)
            SELECT $u, $s, $a WHERE EXISTS (SELECT 1 FROM event_source_mappings WHERE uuid = $u)
            ON CONFLICT (uuid, shard_id) DO UPDATE SET after_sequence = excluded.after_sequence;
            """, [("$u", uuid), ("$s", shardId), ("$a", afterSequence)], cancellationToken);
    }

    private static string Serialize(EventSourceMapping mapping) => JsonSerializer.Serialize(mapping, EventSourceJson.Default.EventSourceMapping);

    private static EventSourceMapping Deserialize(string json) =>
        JsonSerializer.Deserialize(json, EventSourceJson.Default.EventSourceMapping) ?? throw new InvalidDataException("a stored event source mapping is empty");
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EventSourceMapping))]
internal sealed partial class EventSourceJson : JsonSerializerContext;
