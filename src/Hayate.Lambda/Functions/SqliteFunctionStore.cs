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
    public async Task<bool> TryCreateAsync(FunctionConfiguration function, IReadOnlyDictionary<string, string> tags, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO functions (name, revision_id, code_size, config, tags) VALUES ($name, $revision, $size, $config, $tags) ON CONFLICT (name) DO NOTHING;";
        Bind(command, function);
        command.Parameters.AddWithValue("$tags", SerializeTags(tags));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<FunctionConfiguration?> GetAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT config FROM functions WHERE name = $name;";
        command.Parameters.AddWithValue("$name", name);
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? Deserialize(json) : null;
    }

    public async Task<IReadOnlyList<FunctionConfiguration>> ListAsync(string? afterName, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT config FROM functions WHERE name > $after ORDER BY name LIMIT $limit;";
        command.Parameters.AddWithValue("$after", afterName ?? "");
        command.Parameters.AddWithValue("$limit", limit);
        var list = new List<FunctionConfiguration>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(Deserialize(reader.GetString(0)));
        }

        return list;
    }

    public async Task<bool> TryUpdateAsync(FunctionConfiguration function, string expectedRevisionId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE functions SET revision_id = $revision, code_size = $size, config = $config WHERE name = $name AND revision_id = $expected;";
        Bind(command, function);
        command.Parameters.AddWithValue("$expected", expectedRevisionId);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM functions WHERE name = $name;";
        command.Parameters.AddWithValue("$name", name);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<(long Count, long TotalCodeSize)> UsageAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), COALESCE(SUM(code_size), 0) FROM functions;";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    public async Task<IReadOnlyDictionary<string, string>?> GetTagsAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT tags FROM functions WHERE name = $name;";
        command.Parameters.AddWithValue("$name", name);
        return await command.ExecuteScalarAsync(cancellationToken) is string json
            ? JsonSerializer.Deserialize(json, StorageJson.Default.DictionaryStringString)
            : null;
    }

    public async Task<Result<bool>> ChangeTagsAsync(string name, Func<IReadOnlyDictionary<string, string>, Result<Dictionary<string, string>>> change, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var read = Command(connection, transaction, "SELECT tags FROM functions WHERE name = $name;");
        read.Parameters.AddWithValue("$name", name);
        if (await read.ExecuteScalarAsync(cancellationToken) is not string json)
        {
            return false;
        }

        var changed = change(JsonSerializer.Deserialize(json, StorageJson.Default.DictionaryStringString) ?? []);
        if (!changed.Ok)
        {
            return changed.Error;
        }

        await using var write = Command(connection, transaction, "UPDATE functions SET tags = $tags WHERE name = $name;");
        write.Parameters.AddWithValue("$name", name);
        write.Parameters.AddWithValue("$tags", SerializeTags(changed.Value));
        await write.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public async Task<string?> GetPolicyAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT policy FROM functions WHERE name = $name;";
        command.Parameters.AddWithValue("$name", name);
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    public async Task<bool> TryReplacePolicyAsync(string name, string expected, string replacement, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE functions SET policy = $replacement WHERE name = $name AND policy = $expected;";
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$expected", expected);
        command.Parameters.AddWithValue("$replacement", replacement);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static string SerializeTags(IReadOnlyDictionary<string, string> tags) =>
        JsonSerializer.Serialize(new Dictionary<string, string>(tags), StorageJson.Default.DictionaryStringString);

    private static void Bind(SqliteCommand command, FunctionConfiguration function)
    {
        command.Parameters.AddWithValue("$name", function.Name);
        command.Parameters.AddWithValue("$revision", function.RevisionId);
        command.Parameters.AddWithValue("$size", function.CodeSize);
        command.Parameters.AddWithValue("$config", Serialize(function));
    }

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
