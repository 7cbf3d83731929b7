using System.Text.Json;
using Hayate.Kernel.Storage;
using Hayate.Lambda.Invoking;

namespace Hayate.Lambda.Functions;

// Event invoke configurations: one JSON document per function and qualifier.
public sealed partial class SqliteFunctionStore
{
    public async Task<bool> PutEventInvokeConfigAsync(EventInvokeConfig config, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("""
            INSERT INTO event_invoke_configs (function_name, qualifier, config)
            SELECT $name, $qualifier, $config WHERE EXISTS (SELECT 1 FROM functions WHERE name = $name)
            ON CONFLICT (function_name, qualifier) DO UPDATE SET config = excluded.config;
            """,
            [("$name", config.FunctionName), ("$qualifier", config.Qualifier), ("$config", JsonSerializer.Serialize(config, StorageJson.Default.EventInvokeConfig))],
            cancellationToken) == 1;

    public async Task<IReadOnlyList<EventInvokeConfig>> ListEventInvokeConfigsAsync(string name, CancellationToken cancellationToken) =>
        await database.QueryAsync("SELECT config FROM event_invoke_configs WHERE function_name = $name ORDER BY qualifier;", [("$name", name)],
            r => JsonSerializer.Deserialize(r.GetString(0), StorageJson.Default.EventInvokeConfig) ?? throw new InvalidDataException("an event invoke config is empty"),
            cancellationToken);

    public async Task<bool> DeleteEventInvokeConfigAsync(string name, string qualifier, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM event_invoke_configs WHERE function_name = $name AND qualifier = $qualifier;",
            [("$name", name), ("$qualifier", qualifier)], cancellationToken) == 1;
}
