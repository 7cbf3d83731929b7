using System.Text.Json;
using Hayate.Lambda.Invoking;

namespace Hayate.Lambda.Functions;

// Event invoke configurations: one JSON document per function and qualifier.
public sealed partial class SqliteFunctionStore
{
    public async Task<bool> PutEventInvokeConfigAsync(EventInvokeConfig config, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            INSERT INTO event_invoke_configs (function_name, qualifier, config)
            SELECT $name, $qualifier, $config WHERE EXISTS (SELECT 1 FROM functions WHERE name = $name)
            ON CONFLICT (function_name, qualifier) DO UPDATE SET config = excluded.config;
            """);
        command.Parameters.AddWithValue("$name", config.FunctionName);
        command.Parameters.AddWithValue("$qualifier", config.Qualifier);
        command.Parameters.AddWithValue("$config", JsonSerializer.Serialize(config, StorageJson.Default.EventInvokeConfig));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<EventInvokeConfig>> ListEventInvokeConfigsAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT config FROM event_invoke_configs WHERE function_name = $name ORDER BY qualifier;");
        command.Parameters.AddWithValue("$name", name);
        var list = new List<EventInvokeConfig>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(JsonSerializer.Deserialize(reader.GetString(0), StorageJson.Default.EventInvokeConfig) ?? throw new InvalidDataException("an event invoke config is empty"));
        }

        return list;
    }

    public async Task<bool> DeleteEventInvokeConfigAsync(string name, string qualifier, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "DELETE FROM event_invoke_configs WHERE function_name = $name AND qualifier = $qualifier;");
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$qualifier", qualifier);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}
