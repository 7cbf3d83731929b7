using Hayate.Kernel.Accounts;
using Hayate.Kernel.Protocols.Json;
using Hayate.Kernel.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hayate.Kernel.Hosting;

/// <summary>The data directory of this server: the SQLite file, code packages, keys and logs live under it.</summary>
public sealed record DataDirectory(string Path);

/// <summary>Work that must finish before the server answers anything: a check (a master key that opens the stored keys), or wiring between services. Throw to refuse the start.</summary>
public interface IStartupTask
{
    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>What every service stands on: the clock, the account, the data directory, the SQLite database and the JSON-protocol front door.</summary>
public static class KernelServices
{
    /// <summary>The kernel over <paramref name="dataDirectory"/>; the account from the "Account" section (<see cref="AccountOptions"/>).</summary>
    public static IServiceCollection AddKernel(this IServiceCollection services, string dataDirectory)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(new DataDirectory(dataDirectory));
        services.AddSingleton(new SqliteDatabase(System.IO.Path.Combine(dataDirectory, "hayate.db")));
        services.AddOptions<AccountOptions>().BindConfiguration("Account").ValidateOnStart();
        services.AddSingleton<IValidateOptions<AccountOptions>, AccountOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<AccountOptions>>().Value);
        services.AddSingleton<JsonProtocolServices>();
        return services;
    }

    /// <summary>Tables a service owns: migrated by <see cref="PrepareAsync"/>, in the order the schemas were added.</summary>
    public static IServiceCollection AddSqliteSchema(this IServiceCollection services, SqliteSchema schema) => services.AddSingleton(schema);

    public static IServiceCollection AddStartupTask<T>(this IServiceCollection services)
        where T : class, IStartupTask => services.AddSingleton<IStartupTask, T>();

    /// <summary>Brings the database up to every added schema, then runs every startup task: before the server starts.</summary>
    public static async Task PrepareAsync(this IServiceProvider services, CancellationToken cancellationToken)
    {
        await services.GetRequiredService<SqliteDatabase>().MigrateAsync(services.GetServices<SqliteSchema>(), cancellationToken);
        foreach (var task in services.GetServices<IStartupTask>())
        {
            await task.RunAsync(cancellationToken);
        }
    }
}
