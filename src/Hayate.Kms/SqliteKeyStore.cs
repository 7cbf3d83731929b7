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

    public async Task<StoredKey?> GetKeyAsync(string keyId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {KeyColumns} FROM kms_keys WHERE key_id = $id;";
        command.Parameters.AddWithValue("$id", keyId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadKey(reader) : null;
    }

    public async Task<IReadOnlyList<StoredKey>> ListKeysAsync(string? afterKeyId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {KeyColumns} FROM kms_keys WHERE key_id > $after ORDER BY key_id LIMIT $limit;";
        command.Parameters.AddWithValue("$after", afterKeyId ?? "");
        command.Parameters.AddWithValue("$limit", limit);
        var list = new List<StoredKey>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(ReadKey(reader));
        }

        return list;
    }

    public async Task<bool> UpdateKeyStateAsync(string keyId, string keyState, DateTimeOffset? deletionDate, int? pendingDeletionWindowInDays, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE kms_keys SET key_state = $state, deletion_date = $deletion, pending_window_days = $window WHERE key_id = $id;";
        command.Parameters.AddWithValue("$id", keyId);
        command.Parameters.AddWithValue("$state", keyState);
        command.Parameters.AddWithValue("$deletion", (object?)deletionDate?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("$window", (object?)pendingDeletionWindowInDays ?? DBNull.Value);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> TryCreateAliasAsync(StoredAlias alias, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await InsertAliasAsync(connection, null, alias, cancellationToken);
    }

    public async Task<StoredAlias?> GetAliasAsync(string aliasName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT alias_name, target_key_id, creation_date, last_updated_date FROM kms_aliases WHERE alias_name = $name;";
        command.Parameters.AddWithValue("$name", aliasName);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadAlias(reader) : null;
    }

    public async Task<IReadOnlyList<StoredAlias>> ListAliasesAsync(string? targetKeyId, string? afterName, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT alias_name, target_key_id, creation_date, last_updated_date FROM kms_aliases " +
            "WHERE alias_name > $after AND ($target IS NULL OR target_key_id = $target) ORDER BY alias_name LIMIT $limit;";
        command.Parameters.AddWithValue("$after", afterName ?? "");
        command.Parameters.AddWithValue("$target", (object?)targetKeyId ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        var list = new List<StoredAlias>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(ReadAlias(reader));
        }

        return list;
    }

    public async Task<bool> DeleteAliasAsync(string aliasName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM kms_aliases WHERE alias_name = $name;";
        command.Parameters.AddWithValue("$name", aliasName);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static async Task InsertKeyAsync(SqliteConnection connection, SqliteTransaction? transaction, StoredKey key, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"INSERT INTO kms_keys ({KeyColumns}) VALUES ($id, $created, $description, $usage, $spec, $manager, $state, $deletion, $window, $tags, $material);";
        command.Parameters.AddWithValue("$id", key.KeyId);
        command.Parameters.AddWithValue("$created", key.CreationDate.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$description", key.Description);
        command.Parameters.AddWithValue("$usage", key.KeyUsage);
        command.Parameters.AddWithValue("$spec", key.KeySpec);
        command.Parameters.AddWithValue("$manager", key.KeyManager);
        command.Parameters.AddWithValue("$state", key.KeyState);
        command.Parameters.AddWithValue("$deletion", (object?)key.DeletionDate?.ToUnixTimeMilliseconds() ?? DBNull.Value);
        command.Parameters.AddWithValue("$window", (object?)key.PendingDeletionWindowInDays ?? DBNull.Value);
        command.Parameters.AddWithValue("$tags", SerializeTags(key.Tags));
        command.Parameters.Add("$material", SqliteType.Blob).Value = key.SealedMaterial;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<bool> InsertAliasAsync(SqliteConnection connection, SqliteTransaction? transaction, StoredAlias alias, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO kms_aliases (alias_name, target_key_id, creation_date, last_updated_date) VALUES ($name, $target, $created, $updated) ON CONFLICT (alias_name) DO NOTHING;";
        command.Parameters.AddWithValue("$name", alias.AliasName);
        command.Parameters.AddWithValue("$target", alias.TargetKeyId);
        command.Parameters.AddWithValue("$created", alias.CreationDate.ToUnixTimeMilliseconds());
        command.Parameters.AddWithValue("$updated", alias.LastUpdatedDate.ToUnixTimeMilliseconds());
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
