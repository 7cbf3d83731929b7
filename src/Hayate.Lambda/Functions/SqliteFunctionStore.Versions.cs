using System.Globalization;
using System.Text.Json;
using Hayate.Kernel.Errors;
using Microsoft.Data.Sqlite;

namespace Hayate.Lambda.Functions;

// Published versions and aliases: rows beside the function, removed with it (ON DELETE CASCADE).
public sealed partial class SqliteFunctionStore
{
    public async Task<Result<FunctionConfiguration>> PublishAsync(string name, PublishDecision decide, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // BEGIN IMMEDIATE: the read of $LATEST and the counter and the insert are one step.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        FunctionConfiguration? latest = null;
        var next = 0;
        await using (var read = Command(connection, transaction, "SELECT config, next_version FROM functions WHERE name = $name;"))
        {
            read.Parameters.AddWithValue("$name", name);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                latest = Deserialize(reader.GetString(0));
                next = reader.GetInt32(1);
            }
        }

        FunctionConfiguration? newest = null;
        if (latest is not null)
        {
            await using var read = Command(connection, transaction, "SELECT config FROM function_versions WHERE function_name = $name ORDER BY version DESC LIMIT 1;");
            read.Parameters.AddWithValue("$name", name);
            newest = await read.ExecuteScalarAsync(cancellationToken) is string json ? Deserialize(json) : null;
        }

        var decided = decide(latest, newest, next);
        if (!decided.Ok || decided.Value.Version == newest?.Version)
        {
            return decided;
        }

        var version = decided.Value;
        await using (var insert = Command(connection, transaction, "INSERT INTO function_versions (function_name, version, config) VALUES ($name, $version, $config); UPDATE functions SET next_version = $version + 1 WHERE name = $name;"))
        {
            insert.Parameters.AddWithValue("$name", name);
            insert.Parameters.AddWithValue("$version", int.Parse(version.Version, CultureInfo.InvariantCulture));
            insert.Parameters.AddWithValue("$config", Serialize(version));
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return version;
    }

    public async Task<FunctionConfiguration?> GetVersionAsync(string name, int version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT config FROM function_versions WHERE function_name = $name AND version = $version;");
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$version", version);
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? Deserialize(json) : null;
    }

    public async Task<IReadOnlyList<FunctionConfiguration>> ListVersionsAsync(string name, int afterVersion, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT config FROM function_versions WHERE function_name = $name AND version > $after ORDER BY version LIMIT $limit;");
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$after", afterVersion);
        command.Parameters.AddWithValue("$limit", limit);
        var list = new List<FunctionConfiguration>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(Deserialize(reader.GetString(0)));
        }

        return list;
    }

    public async Task<VersionDeletion> DeleteVersionAsync(string name, int version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var text = version.ToString(CultureInfo.InvariantCulture);
        var aliases = new List<string>();
        await using (var read = Command(connection, transaction, "SELECT name FROM aliases WHERE function_name = $name AND (function_version = $version OR additional_version = $version) ORDER BY name;"))
        {
            read.Parameters.AddWithValue("$name", name);
            read.Parameters.AddWithValue("$version", text);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                aliases.Add(reader.GetString(0));
            }
        }

        if (aliases.Count > 0)
        {
            return new VersionDeletion(false, aliases);
        }

        await using var delete = Command(connection, transaction, "DELETE FROM function_versions WHERE function_name = $name AND version = $version;");
        delete.Parameters.AddWithValue("$name", name);
        delete.Parameters.AddWithValue("$version", version);
        var deleted = await delete.ExecuteNonQueryAsync(cancellationToken) == 1;
        await transaction.CommitAsync(cancellationToken);
        return new VersionDeletion(deleted, []);
    }

    public async Task<AliasWrite> TryCreateAliasAsync(AliasConfiguration alias, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        if (await MissingVersionAsync(connection, transaction, alias, cancellationToken) is { } missing)
        {
            return new AliasWrite(AliasWriteStatus.VersionMissing, missing);
        }

        await using var insert = Command(connection, transaction,
            "INSERT INTO aliases (function_name, name, function_version, additional_version, revision_id, config) VALUES ($function, $name, $version, $additional, $revision, $config) ON CONFLICT DO NOTHING;");
        BindAlias(insert, alias);
        var inserted = await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
        await transaction.CommitAsync(cancellationToken);
        return new AliasWrite(inserted ? AliasWriteStatus.Done : AliasWriteStatus.Conflict, null);
    }

    public async Task<AliasWrite> TryUpdateAliasAsync(AliasConfiguration alias, string expectedRevisionId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        if (await MissingVersionAsync(connection, transaction, alias, cancellationToken) is { } missing)
        {
            return new AliasWrite(AliasWriteStatus.VersionMissing, missing);
        }

        await using var update = Command(connection, transaction,
            "UPDATE aliases SET function_version = $version, additional_version = $additional, revision_id = $revision, config = $config WHERE function_name = $function AND name = $name AND revision_id = $expected;");
        BindAlias(update, alias);
        update.Parameters.AddWithValue("$expected", expectedRevisionId);
        var updated = await update.ExecuteNonQueryAsync(cancellationToken) == 1;
        await transaction.CommitAsync(cancellationToken);
        return new AliasWrite(updated ? AliasWriteStatus.Done : AliasWriteStatus.Conflict, null);
    }

    public async Task<AliasConfiguration?> GetAliasAsync(string functionName, string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT config FROM aliases WHERE function_name = $function AND name = $name;");
        command.Parameters.AddWithValue("$function", functionName);
        command.Parameters.AddWithValue("$name", name);
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? DeserializeAlias(json) : null;
    }

    public async Task<IReadOnlyList<AliasConfiguration>> ListAliasesAsync(string functionName, string? functionVersion, string? afterName, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT config FROM aliases WHERE function_name = $function AND name > $after AND ($version IS NULL OR function_version = $version OR additional_version = $version) ORDER BY name LIMIT $limit;");
        command.Parameters.AddWithValue("$function", functionName);
        command.Parameters.AddWithValue("$after", afterName ?? "");
        command.Parameters.AddWithValue("$version", (object?)functionVersion ?? DBNull.Value);
        command.Parameters.AddWithValue("$limit", limit);
        var list = new List<AliasConfiguration>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(DeserializeAlias(reader.GetString(0)));
        }

        return list;
    }

    public async Task<bool> DeleteAliasAsync(string functionName, string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "DELETE FROM aliases WHERE function_name = $function AND name = $name;");
        command.Parameters.AddWithValue("$function", functionName);
        command.Parameters.AddWithValue("$name", name);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>The first version the alias names that is not published (and is not $LATEST), if any.</summary>
    private static async Task<string?> MissingVersionAsync(SqliteConnection connection, SqliteTransaction transaction, AliasConfiguration alias, CancellationToken cancellationToken)
    {
        foreach (var version in new[] { alias.FunctionVersion, alias.AdditionalVersion })
        {
            if (version is null or "$LATEST")
            {
                continue;
            }

            await using var check = Command(connection, transaction, "SELECT 1 FROM function_versions WHERE function_name = $function AND version = $version;");
            check.Parameters.AddWithValue("$function", alias.FunctionName);
            check.Parameters.AddWithValue("$version", long.Parse(version, CultureInfo.InvariantCulture));
            if (await check.ExecuteScalarAsync(cancellationToken) is null)
            {
                return version;
            }
        }

        return null;
    }

    private static void BindAlias(SqliteCommand command, AliasConfiguration alias)
    {
        command.Parameters.AddWithValue("$function", alias.FunctionName);
        command.Parameters.AddWithValue("$name", alias.Name);
        command.Parameters.AddWithValue("$version", alias.FunctionVersion);
        command.Parameters.AddWithValue("$additional", (object?)alias.AdditionalVersion ?? DBNull.Value);
        command.Parameters.AddWithValue("$revision", alias.RevisionId);
        command.Parameters.AddWithValue("$config", JsonSerializer.Serialize(alias, StorageJson.Default.AliasConfiguration));
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static AliasConfiguration DeserializeAlias(string json) =>
        JsonSerializer.Deserialize(json, StorageJson.Default.AliasConfiguration)
        ?? throw new InvalidDataException("a stored alias is empty");
}
