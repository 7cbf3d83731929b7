using System.Text.Json;
using System.Text.Json.Serialization;
using Hayate.Kernel.Storage;
using Microsoft.Data.Sqlite;

namespace Hayate.Lambda.Layers;

/// <summary>Layer versions in SQLite, one JSON document per version.</summary>
public sealed class SqliteLayerStore(SqliteDatabase database) : ILayerStore
{
    public async Task<LayerVersion> PublishAsync(LayerVersion layer, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        long version;
        await using (var next = Command(connection, transaction, """
            INSERT INTO layers (name, next_version) VALUES ($name, 2)
            ON CONFLICT (name) DO UPDATE SET next_version = next_version + 1
            RETURNING next_version - 1;
            """))
        {
            next.Parameters.AddWithValue("$name", layer.LayerName);
            version = (long)(await next.ExecuteScalarAsync(cancellationToken))!;
        }

        var published = layer with { Version = version };
        await using (var insert = Command(connection, transaction, "INSERT INTO layer_versions (layer_name, version, config, policy, policy_revision) VALUES ($name, $version, $config, '[]', $revision);"))
        {
            insert.Parameters.AddWithValue("$name", layer.LayerName);
            insert.Parameters.AddWithValue("$version", version);
            insert.Parameters.AddWithValue("$config", JsonSerializer.Serialize(published, LayerJson.Default.LayerVersion));
            insert.Parameters.AddWithValue("$revision", Guid.NewGuid().ToString());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return published;
    }

    public async Task<LayerVersion?> GetAsync(string name, long version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT config FROM layer_versions WHERE layer_name = $name AND version = $version;");
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$version", version);
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? Deserialize(json) : null;
    }

    public async Task<IReadOnlyList<LayerVersion>> ListVersionsAsync(string name, long? beforeVersion, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT config FROM layer_versions WHERE layer_name = $name AND version < $before ORDER BY version DESC LIMIT $limit;");
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$before", beforeVersion ?? long.MaxValue);
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadAllAsync(command, cancellationToken);
    }

    public async Task<IReadOnlyList<LayerVersion>> ListLatestAsync(string? afterName, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            SELECT config FROM layer_versions AS v
            WHERE layer_name > $after AND version = (SELECT MAX(version) FROM layer_versions WHERE layer_name = v.layer_name)
            ORDER BY layer_name LIMIT $limit;
            """);
        command.Parameters.AddWithValue("$after", afterName ?? "");
        command.Parameters.AddWithValue("$limit", limit);
        return await ReadAllAsync(command, cancellationToken);
    }

    public async Task<bool> DeleteAsync(string name, long version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "DELETE FROM layer_versions WHERE layer_name = $name AND version = $version;");
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$version", version);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<(string Statements, string RevisionId)?> GetPolicyAsync(string name, long version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT policy, policy_revision FROM layer_versions WHERE layer_name = $name AND version = $version;");
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$version", version);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetString(0), reader.GetString(1)) : null;
    }

    public async Task<bool> TryReplacePolicyAsync(string name, long version, string expectedRevision, string statements, string newRevision, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "UPDATE layer_versions SET policy = $policy, policy_revision = $revision WHERE layer_name = $name AND version = $version AND policy_revision = $expected;");
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$version", version);
        command.Parameters.AddWithValue("$policy", statements);
        command.Parameters.AddWithValue("$revision", newRevision);
        command.Parameters.AddWithValue("$expected", expectedRevision);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static async Task<IReadOnlyList<LayerVersion>> ReadAllAsync(SqliteCommand command, CancellationToken cancellationToken)
    {
        var list = new List<LayerVersion>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(Deserialize(reader.GetString(0)));
        }

        return list;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static LayerVersion Deserialize(string json) =>
        JsonSerializer.Deserialize(json, LayerJson.Default.LayerVersion) ?? throw new InvalidDataException("a stored layer version is empty");
}

[JsonSerializable(typeof(LayerVersion))]
internal sealed partial class LayerJson : JsonSerializerContext;
