using System.Text.Json;
using System.Text.Json.Serialization;
using Hayate.Kernel.Errors;
using Hayate.Kernel.Storage;
using Hayate.Lambda.Invoking;
using Microsoft.Data.Sqlite;

namespace Hayate.Lambda.Functions;

/// <summary>Function metadata in SQLite; each configuration is one JSON document keyed by name.</summary>
public sealed partial class SqliteFunctionStore(SqliteDatabase database) : IFunctionStore
{
    public async Task<bool> TryCreateAsync(FunctionConfiguration function, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken) =>
        await database.ExecuteAsync(
            "INSERT INTO functions (name, revision_id, code_size, config, tags) VALUES ($name, $revision, $size, $config, $tags) ON CONFLICT (name) DO NOTHING;",
            [.. Columns(function), ("$tags", SerializeTags(tags))], cancellationToken) == 1;

    public async Task<FunctionConfiguration?> GetAsync(string name, CancellationToken cancellationToken) =>
        await database.ScalarAsync("SELECT config FROM functions WHERE name = $name;", [("$name", name)], cancellationToken) is string json ? Deserialize(json) : null;

    public async Task<IReadOnlyList<FunctionConfiguration>> ListAsync(string? afterName, int limit, CancellationToken cancellationToken) =>
        await database.QueryAsync("SELECT config FROM functions WHERE name > $after ORDER BY name LIMIT $limit;",
            [("$after", afterName ?? ""), ("$limit", limit)], r => Deserialize(r.GetString(0)), cancellationToken);

    public async Task<bool> TryUpdateAsync(FunctionConfiguration function, string expectedRevisionId, CancellationToken cancellationToken) =>
        await database.ExecuteAsync(
            "UPDATE functions SET revision_id = $revision, code_size = $size, config = $config WHERE name = $name AND revision_id = $expected;",
            [.. Columns(function), ("$expected", expectedRevisionId)], cancellationToken) == 1;

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM functions WHERE name = $name;", [("$name", name)], cancellationToken) == 1;

    public async Task<(long Count, long TotalCodeSize)> UsageAsync(CancellationToken cancellationToken) =>
        (await database.QueryAsync("SELECT COUNT(*), COALESCE(SUM(code_size), 0) FROM functions;", [], r => (r.GetInt64(0), r.GetInt64(1)), cancellationToken))[0];

    public async Task<IReadOnlyDictionary<string, string>?> GetTagsAsync(string name, CancellationToken cancellationToken) =>
        await database.ScalarAsync("SELECT tags FROM functions WHERE name = $name;", [("$name", name)], cancellationToken) is string json
            ? JsonSerializer.Deserialize(json, StorageJson.Default.DictionaryStringString)
            : null;

    public async Task<Result<bool>> ChangeTagsAsync(string name, Func<IReadOnlyDictionary<string, string>, Result<Dictionary<string, string>>> change, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        if (await transaction.ScalarAsync("SELECT tags FROM functions WHERE name = $name;", [("$name", name)], cancellationToken) is not string json)
        {
            return false;
        }

        var changed = change(JsonSerializer.Deserialize(json, StorageJson.Default.DictionaryStringString) ?? []);
        if (!changed.Ok)
        {
            return changed.Error;
        }

        await transaction.ExecuteAsync("UPDATE functions SET tags = $tags WHERE name = $name;", [("$name", name), ("$tags", SerializeTags(changed.Value))], cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<string?> GetPolicyAsync(string name, CancellationToken cancellationToken) =>
        await database.ScalarAsync("SELECT policy FROM functions WHERE name = $name;", [("$name", name)], cancellationToken) as string;

    public async Task<bool> TryReplacePolicyAsync(string name, string expected, string replacement, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("UPDATE functions SET policy = $replacement WHERE name = $name AND policy = $expected;",
            [("$name", name), ("$expected", expected), ("$replacement", replacement)], cancellationToken) == 1;

    private static string SerializeTags(IReadOnlyDictionary<string, string> tags) =>
        JsonSerializer.Serialize(new Dictionary<string, string>(tags), StorageJson.Default.DictionaryStringString);

    private static (string, object?)[] Columns(FunctionConfiguration function) =>
        [("$name", function.Name), ("$revision", function.RevisionId), ("$size", function.CodeSize), ("$config", Serialize(function))];

    /// <summary>The stored form: with a sealed environment, the plaintext variables are left out.</summary>
    internal static string Serialize(FunctionConfiguration function) => JsonSerializer.Serialize(
        function.Sealed is null ? function : function with { Environment = new Dictionary<string, string>() },
        StorageJson.Default.FunctionConfiguration);

    private static FunctionConfiguration Deserialize(string json) =>
        JsonSerializer.Deserialize(json, StorageJson.Default.FunctionConfiguration)
        ?? throw new InvalidDataException("a stored function configuration is empty");
}

[JsonSerializable(typeof(FunctionConfiguration))]
[JsonSerializable(typeof(AliasConfiguration))]
[JsonSerializable(typeof(EventInvokeConfig))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class StorageJson : JsonSerializerContext;
