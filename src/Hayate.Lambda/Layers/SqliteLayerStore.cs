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
        var version = (long)(await transaction.ScalarAsync("""
            INSERT INTO layers (name, next_version) VALUES ($name, 2)
            ON CONFLICT (name) DO UPDATE SET next_version = next_version + 1
            RETURNING next_version - 1;
            """, [("$name", layer.LayerName)], cancellationToken))!;

        var published = layer with { Version = version };
        await transaction.ExecuteAsync("INSERT INTO layer_versions (layer_name, version, config, policy, policy_revision) VALUES ($name, $version, $config, '[]', $revision);",
            [("$name", layer.LayerName), ("$version", version), ("$config", JsonSerializer.Serialize(published, LayerJson.Default.LayerVersion)), ("$revision", Guid.NewGuid().ToString())],
            cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return published;
    }

    public async Task<LayerVersion?> GetAsync(string name, long version, CancellationToken cancellationToken) =>
        await database.ScalarAsync("SELECT config FROM layer_versions WHERE layer_name = $name AND version = $version;",
            [("$name", name), ("$version", version)], cancellationToken) is string json ? Deserialize(json) : null;

    public async Task<IReadOnlyList<LayerVersion>> ListVersionsAsync(string name, long? beforeVersion, int limit, CancellationToken cancellationToken) =>
        await database.QueryAsync("SELECT config FROM layer_versions WHERE layer_name = $name AND version < $before ORDER BY version DESC LIMIT $limit;",
            [("$name", name), ("$before", beforeVersion ?? long.MaxValue), ("$limit", limit)], r => Deserialize(r.GetString(0)), cancellationToken);

    public async Task<IReadOnlyList<LayerVersion>> ListLatestAsync(string? afterName, int limit, CancellationToken cancellationToken) =>
        await database.QueryAsync("""
            SELECT config FROM layer_versions AS v
            WHERE layer_name > $after AND version = (SELECT MAX(version) FROM layer_versions WHERE layer_name = v.layer_name)
            ORDER BY layer_name LIMIT $limit;
            """, [("$after", afterName ?? ""), ("$limit", limit)], r => Deserialize(r.GetString(0)), cancellationToken);

    public async Task<bool> DeleteAsync(string name, long version, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM layer_versions WHERE layer_name = $name AND version = $version;", [("$name", name), ("$version", version)], cancellationToken) == 1;

    public async Task<(string Statements, string RevisionId)?> GetPolicyAsync(string name, long version, CancellationToken cancellationToken)
    {
        var found = await database.QueryAsync("SELECT policy, policy_revision FROM layer_versions WHERE layer_name = $name AND version = $version;",
            [("$name", name), ("$version", version)], r => (r.GetString(0), r.GetString(1)), cancellationToken);
        return found.Count > 0 ? found[0] : null;
    }

    public async Task<bool> TryReplacePolicyAsync(string name, long version, string expectedRevision, string statements, string newRevision, CancellationToken cancellationToken) =>
        await database.ExecuteAsync(
            "UPDATE layer_versions SET policy = $policy, policy_revision = $revision WHERE layer_name = $name AND version = $version AND policy_revision = $expected;",
            [("$name", name), ("$version", version), ("$policy", statements), ("$revision", newRevision), ("$expected", expectedRevision)], cancellationToken) == 1;

    private static LayerVersion Deserialize(string json) =>
        JsonSerializer.Deserialize(json, LayerJson.Default.LayerVersion) ?? throw new InvalidDataException("a stored layer version is empty");
}

[JsonSerializable(typeof(LayerVersion))]
internal sealed partial class LayerJson : JsonSerializerContext;
