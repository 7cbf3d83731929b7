using System.Globalization;
using Hayate.Kernel.Storage;

namespace Hayate.Lambda.Functions;

// Reserved concurrency (a column of the function) and provisioned concurrency configurations.
public sealed partial class SqliteFunctionStore
{
    public async Task<bool> SetReservedConcurrencyAsync(string name, int? reserved, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("UPDATE functions SET reserved_concurrency = $reserved WHERE name = $name;", [("$name", name), ("$reserved", reserved)], cancellationToken) == 1;

    public async Task<IReadOnlyDictionary<string, int>> ListReservedConcurrencyAsync(CancellationToken cancellationToken) =>
        (await database.QueryAsync("SELECT name, reserved_concurrency FROM functions WHERE reserved_concurrency IS NOT NULL;", [],
            r => (Name: r.GetString(0), Reserved: r.GetInt32(1)), cancellationToken))
        .ToDictionary(f => f.Name, f => f.Reserved, StringComparer.Ordinal);

    public async Task<bool> PutProvisionedConcurrencyAsync(ProvisionedConcurrencyConfig config, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("""
            INSERT INTO provisioned_concurrency (function_name, qualifier, requested, last_modified)
            SELECT $name, $qualifier, $requested, $modified WHERE EXISTS (SELECT 1 FROM functions WHERE name = $name)
            ON CONFLICT (function_name, qualifier) DO UPDATE SET requested = excluded.requested, last_modified = excluded.last_modified;
            """,
            [("$name", config.FunctionName), ("$qualifier", config.Qualifier), ("$requested", config.Requested), ("$modified", config.LastModified.ToString("O", CultureInfo.InvariantCulture))],
            cancellationToken) == 1;

    public async Task<bool> DeleteProvisionedConcurrencyAsync(string name, string qualifier, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("DELETE FROM provisioned_concurrency WHERE function_name = $name AND qualifier = $qualifier;",
            [("$name", name), ("$qualifier", qualifier)], cancellationToken) == 1;

    public async Task<IReadOnlyList<ProvisionedConcurrencyConfig>> ListProvisionedConcurrencyAsync(string? name, CancellationToken cancellationToken) =>
        await database.QueryAsync(
            "SELECT function_name, qualifier, requested, last_modified FROM provisioned_concurrency WHERE $name IS NULL OR function_name = $name ORDER BY function_name, qualifier;",
            [("$name", name)],
            r => new ProvisionedConcurrencyConfig(r.GetString(0), r.GetString(1), r.GetInt32(2), DateTimeOffset.Parse(r.GetString(3), CultureInfo.InvariantCulture)),
            cancellationToken);
}
