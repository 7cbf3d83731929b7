using Hayate.Kernel.Hosting;
using Hayate.Kernel.Protocols.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Kms;

/// <summary>Wires the key service: <see cref="KeyService"/> with key material sealed under the master key, and the KMS JSON protocol at `POST /`.</summary>
public static class KmsServices
{
    public static IServiceCollection AddKms(this IServiceCollection services, MasterKey masterKey)
    {
        services.AddSqliteSchema(KmsSchema.Schema);
        services.AddSingleton(masterKey);
        services.AddSingleton<IKeyStore, SqliteKeyStore>();
        services.AddSingleton<KeyService>();
        services.AddStartupTask<MasterKeyCheck>();
        return services;
    }

    public static IEndpointRouteBuilder MapKms(this IEndpointRouteBuilder app) => app.MapJsonProtocol(KmsEndpoints.Service);

    /// <summary>Refuses to start with a master key that does not open the keys already stored.</summary>
    private sealed class MasterKeyCheck(KeyService keys) : IStartupTask
    {
        public Task RunAsync(CancellationToken cancellationToken) => keys.CheckMasterKeyAsync(cancellationToken);
    }
}
