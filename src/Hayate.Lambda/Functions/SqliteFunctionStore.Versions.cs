using System.Globalization;
using System.Text.Json;
using Hayate.Kernel.Errors;
using Hayate.Kernel.Storage;
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
        var found = await transaction.QueryAsync("SELECT config, next_version FROM functions WHERE name = $name;", [("$name", name)],
            r => (Latest: Deserialize(r.GetString(0)), Next: r.GetInt32(1)), cancellationToken);
        var (latest, next) = found.Count > 0 ? found[0] : (null, 0);
        var newest = latest is not null &&
            await transaction.ScalarAsync("SELECT config FROM function_versions WHERE function_name = $name ORDER BY version DESC LIMIT 1;", [("$name", name)], cancellationToken) is string json
                ? Deserialize(json)
                : null;

        var decided = decide(latest, newest, next);
        if (!decided.Ok || decided.Value.Version == newest?.Version)
        {
            return decided;
        }

        var version = decided.Value;
        await transaction.ExecuteAsync(
            "INSERT INTO function_versions (function_name, version, config) VALUES ($name, $version, $config); UPDATE functions SET next_version = $version + 1 WHERE name = $name;",
            [("$name", name), ("$version", int.Parse(version.Version, CultureInfo.InvariantCulture)), ("$config", Serialize(version))], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return version;
    }

    public async Task<FunctionConfiguration?> GetVersionAsync(string name, int version, CancellationToken cancellationToken) =>
        await database.ScalarAsync("SELECT config FROM function_versions WHERE function_name = $name AND version = $version;",
            [("$name", name), ("$version", version)], cancellationToken) is string json ? Deserialize(json) : null;

    public async Task<IReadOnlyList<FunctionConfiguration>> ListVersionsAsync(string name, int afterVersion, int limit, CancellationToken cancellationToken) =>
        await database.QueryAsync("SELECT config FROM function_versions WHERE function_name = $name AND version > $after ORDER BY version LIMIT $limit;",
            [("$name", name), ("$after", afterVersion), ("$limit", limit)], r => Deserialize(r.GetString(0)), cancellationToken);

    public async Task<VersionDeletion> DeleteVersionAsync(string name, int version, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var aliases = await transaction.QueryAsync(
            "SELECT name FROM aliases WHERE function_name = $name AND (function_version = $version OR additional_version = $version) ORDER BY name;",
            [("$name", name), ("$version", version.ToString(CultureInfo.InvariantCulture))], r => r.GetString(0), cancellationToken);
        if (aliases.Count > 0)
        {
            return new VersionDeletion(false, aliases);
        }

        var deleted = await transaction.ExecuteAsync("DELETE FROM function_versions WHERE function_name = $name AND version = $version;",
            [("$name", name), ("$version", version)], cancellationToken) == 1;
        await transaction.CommitAsync(cancellationToken);
        return new VersionDeletion(deleted, []);
    }

    public Task<AliasWrite> TryCreateAliasAsync(AliasConfiguration alias, CancellationToken cancellationToken) => WriteAliasAsync(
        "INSERT INTO aliases (function_name, name, function_version, additional_version, revision_id, config) VALUES ($function, $name, $version, $additional, $revision, $config) ON CONFLICT DO NOTHING;",
        alias, AliasColumns(alias), cancellationToken);

    public Task<AliasWrite> TryUpdateAliasAsync(AliasConfiguration alias, string expectedRevisionId, CancellationToken cancellationToken) => WriteAliasAsync(
        "UPDATE aliases SET function_version = $version, additional_version = $additional, revision_id = $revision, config = $config WHERE function_name = $function AND name = $name AND revision_id = $expected;",
        alias, [.. AliasColumns(alias), ("$expected", expectedRevisionId)], cancellationToken);

    public async Task<AliasConfiguration?> GetAliasAsync(string functionName, string name, CancellationToken cancellationToken) =>
        await database.ScalarAsync("SELECT config FROM aliases WHERE function_name = $function AND name = $name;",
            [("$function", functionName), ("$name", name)], cancellationToken) is string json ? DeserializeAlias(json) : null;

    public async Task<IReadOnlyList<AliasConfiguration>> ListAliasesAsync(string functionName, string? functionVersion, string? afterName, int limit, CancellationToken cancellationToken) =>
        await database.QueryAsync(
            "SELECT config FROM aliases WHERE function_name = $function AND name > $after AND ($version IS NULL OR function_version = $version OR additional_version = $version) ORDER BY name LIMIT $limit;",
            [("$function", functionName), ("$after", afterName ?? ""), ("$version", functionVersion), ("$limit", limit)], r => DeserializeAlias(r.GetString(0)), cancellationToken);

    public async Task<bool> DeleteAliasAsync(string functionName, string name, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM aliases WHERE function_name = $function AND name = $name;", [("$function", functionName), ("$name", name)], cancellationToken) == 1;

    /// <summary>Writes the alias in one transaction with the check that every version it names is published.</summary>
    private async Task<AliasWrite> WriteAliasAsync(string sql, AliasConfiguration alias, (string, object?)[] parameters, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        foreach (var version in new[] { alias.FunctionVersion, alias.AdditionalVersion })
        {
            if (version is null or "$LATEST")
            {
                continue;
            }

            if (await transaction.ScalarAsync("SELECT 1 FROM function_versions WHERE function_name = $function AND version = $version;",
                [("$function", alias.FunctionName), ("$version", long.Parse(version, CultureInfo.InvariantCulture))], cancellationToken) is null)
            {
                return new AliasWrite(AliasWriteStatus.VersionMissing, version);
            }
        }

        var written = await transaction.ExecuteAsync(sql, parameters, cancellationToken) == 1;
        await transaction.CommitAsync(cancellationToken);
        return new AliasWrite(written ? AliasWriteStatus.Done : AliasWriteStatus.Conflict, null);
    }

    private static (string, object?)[] AliasColumns(AliasConfiguration alias) =>
    [
        ("$function", alias.FunctionName), ("$name", alias.Name), ("$version", alias.FunctionVersion), ("$additional", alias.AdditionalVersion),
        ("$revision", alias.RevisionId), ("$config", JsonSerializer.Serialize(alias, StorageJson.Default.AliasConfiguration)),
    ];

    private static AliasConfiguration DeserializeAlias(string json) =>
        JsonSerializer.Deserialize(json, StorageJson.Default.AliasConfiguration)
        ?? throw new InvalidDataException("a stored alias is empty");
}
