
namespace Hayate.Lambda.Functions;

// Reserved concurrency (a column of the function) and provisioned concurrency configurations.
public sealed partial class SqliteFunctionStore
{
    public async Task<bool> SetReservedConcurrencyAsync(string name, int? reserved, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "UPDATE functions SET reserved_concurrency = $reserved WHERE name = $name;");
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$reserved", (object?)reserved ?? DBNull.Value);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyDictionary<string, int>> ListReservedConcurrencyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT name, reserved_concurrency FROM functions WHERE reserved_concurrency IS NOT NULL;");
        var all = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            all[reader.GetString(0)] = reader.GetInt32(1);
        }

        return all;
    }

    public async Task<bool> PutProvisionedConcurrencyAsync(ProvisionedConcurrencyConfig config, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, """
            INSERT INTO provisioned_concurrency (function_name, qualifier, requested, last_modified)
            SELECT $name, $qualifier, $requested, $modified WHERE EXISTS (SELECT 1 FROM functions WHERE name = $name)
            ON CONFLICT (function_name, qualifier) DO UPDATE SET requested = excluded.requested, last_modified = excluded.last_modified;
            """);
        command.Parameters.AddWithValue("$name", config.FunctionName);
        command.Parameters.AddWithValue("$qualifier", config.Qualifier);
        command.Parameters.AddWithValue("$requested", config.Requested);
        command.Parameters.AddWithValue("$modified", config.LastModified.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<bool> DeleteProvisionedConcurrencyAsync(string name, string qualifier, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "DELETE FROM provisioned_concurrency WHERE function_name = $name AND qualifier = $qualifier;");
        command.Parameters.AddWithValue("$name", name);
        command.Parameters.AddWithValue("$qualifier", qualifier);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    public async Task<IReadOnlyList<ProvisionedConcurrencyConfig>> ListProvisionedConcurrencyAsync(string? name, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = Command(connection, null,
            "SELECT function_name, qualifier, requested, last_modified FROM provisioned_concurrency WHERE $name IS NULL OR function_name = $name ORDER BY function_name, qualifier;");
        command.Parameters.AddWithValue("$name", (object?)name ?? DBNull.Value);
        var list = new List<ProvisionedConcurrencyConfig>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new ProvisionedConcurrencyConfig(reader.GetString(0), reader.GetString(1), reader.GetInt32(2),
                DateTimeOffset.Parse(reader.GetString(3), System.Globalization.CultureInfo.InvariantCulture)));
        }

        return list;
    }
}
