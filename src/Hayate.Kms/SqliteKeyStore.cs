using System.Text.Json;
using Hayate.Kernel.Storage;
using Microsoft.Data.Sqlite;

namespace Hayate.Kms;

/// <summary>KMS keys and aliases in SQLite: one row per key (material sealed by the caller), one per alias.</summary>
public sealed class SqliteKeyStore(SqliteDatabase database) : IKeyStore
{
    private const string KeyColumns = "key_id, creation_date, description, key_usage, key_spec, key_manager, key_state, deletion_date, pending_window_days, tags, material";

    public async Task CreateKeyAsync(StoredKey key, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await InsertKeyAsync(connection, null, key, cancellationToken);
    }

    public async Task<bool> TryCreateKeyWithAliasAsync(StoredKey key, StoredAlias alias, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await InsertKeyAsync(connection, transaction, key, cancellationToken);
        if (!await InsertAliasAsync(connection, transaction, alias, cancellationToken))
        {
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public Task<StoredKey?> GetKeyAsync(string keyId, CancellationToken cancellationToken) =>
        database.QueryFirstAsync($"SELECT {KeyColumns} FROM kms_keys WHERE key_id = $id;", [("$id", keyId)], ReadKey, cancellationToken);

    public async Task<IReadOnlyList<StoredKey>> ListKeysAsync(string? afterKeyId, int limit, CancellationToken cancellationToken) =>
        await database.QueryAsync($"SELECT {KeyColumns} FROM kms_keys WHERE key_id > $after ORDER BY key_id LIMIT $limit;",
            [("$after", afterKeyId ?? ""), ("$limit", limit)], ReadKey, cancellationToken);

    public async Task<bool> UpdateKeyStateAsync(string keyId, string keyState, DateTimeOffset? deletionDate, int? pendingDeletionWindowInDays, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("UPDATE kms_keys SET key_state = $state, deletion_date = $deletion, pending_window_days = $window WHERE key_id = $id;",
            [("$id", keyId), ("$state", keyState), ("$deletion", deletionDate?.ToUnixTimeMilliseconds()), ("$window", pendingDeletionWindowInDays)], cancellationToken) == 1;

    public async Task<bool> TryCreateAliasAsync(StoredAlias alias, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await InsertAliasAsync(connection, null, alias, cancellationToken);
    }

    private const string AliasColumns = "alias_name, target_key_id, creation_date, last_updated_date";

    public Task<StoredAlias?> GetAliasAsync(string aliasName, CancellationToken cancellationToken) =>
        database.QueryFirstAsync($"SELECT {AliasColumns} FROM kms_aliases WHERE alias_name = $name;", [("$name", aliasName)], ReadAlias, cancellationToken);

    public async Task<IReadOnlyList<StoredAlias>> ListAliasesAsync(string? targetKeyId, string? afterName, int limit, CancellationToken cancellationToken) =>
        await database.QueryAsync(
            $"SELECT {AliasColumns} FROM kms_aliases WHERE alias_name > $after AND ($target IS NULL OR target_key_id = $target) ORDER BY alias_name LIMIT $limit;",
            [("$after", afterName ?? ""), ("$target", targetKeyId), ("$limit", limit)], ReadAlias, cancellationToken);

    public async Task<bool> DeleteAliasAsync(string aliasName, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM kms_aliases WHERE alias_name = $name;", [("$name", aliasName)], cancellationToken) == 1;

    private static async Task InsertKeyAsync(SqliteConnection connection, SqliteTransaction? transaction, StoredKey key, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(
            $"INSERT INTO kms_keys ({KeyColumns}) VALUES ($id, $created, $description, $usage, $spec, $manager, $state, $deletion, $window, $tags, $material);",
            [
                ("$id", key.KeyId), ("$created", key.CreationDate.ToUnixTimeMilliseconds()), ("$description", key.Description), ("$usage", key.KeyUsage),
                ("$spec", key.KeySpec), ("$manager", key.KeyManager), ("$state", key.KeyState), ("$deletion", key.DeletionDate?.ToUnixTimeMilliseconds()),
                ("$window", key.PendingDeletionWindowInDays), ("$tags", SerializeTags(key.Tags)), ("$material", key.SealedMaterial),
            ],
            transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<bool> InsertAliasAsync(SqliteConnection connection, SqliteTransaction? transaction, StoredAlias alias, CancellationToken cancellationToken)
    {
        await using var command = connection.Command(
            $"INSERT INTO kms_aliases ({AliasColumns}) VALUES ($name, $target, $created, $updated) ON CONFLICT (alias_name) DO NOTHING;",
            [("$name", alias.AliasName), ("$target", alias.TargetKeyId), ("$created", alias.CreationDate.ToUnixTimeMilliseconds()), ("$updated", alias.LastUpdatedDate.ToUnixTimeMilliseconds())],
            transaction);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static StoredKey ReadKey(SqliteDataReader reader) => new()
    {
        KeyId = reader.GetString(0),
        CreationDate = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
        Description = reader.GetString(2),
        KeyUsage = reader.GetString(3),
        KeySpec = reader.GetString(4),
        KeyManager = reader.GetString(5),
        KeyState = reader.GetString(6),
        DeletionDate = reader.IsDBNull(7) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
        PendingDeletionWindowInDays = reader.IsDBNull(8) ? null : reader.GetInt32(8),
        Tags = DeserializeTags(reader.GetString(9)),
        SealedMaterial = (byte[])reader.GetValue(10),
    };

    private static StoredAlias ReadAlias(SqliteDataReader reader) => new(
        reader.GetString(0),
        reader.GetString(1),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2)),
        DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));

    // Tags keep their order, so a JSON array of [key, value] pairs rather than an object.
    private static string SerializeTags(IReadOnlyList<KeyValuePair<string, string>> tags)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var (key, value) in tags)
            {
                writer.WriteStartArray();
                writer.WriteStringValue(key);
                writer.WriteStringValue(value);
                writer.WriteEndArray();
            }

            writer.WriteEndArray();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static List<KeyValuePair<string, string>> DeserializeTags(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateArray()
            .Select(pair => KeyValuePair.Create(pair[0].GetString() ?? "", pair[1].GetString() ?? ""))
            .ToList();
    }
}
