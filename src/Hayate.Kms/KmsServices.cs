using Hayate.Kernel.Hosting;
using Hayate.Kernel.Protocols.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hayate.Kms;

/// <summary>Settings of the key service (section "Kms").</summary>
public sealed record KmsOptions
{
    /// <summary>The file holding the 256-bit master key; null means DATA/master.key, created on first start.</summary>
    public string? MasterKeyFile { get; set; }
}

/// <summary>Wires the key service: <see cref="KeyService"/> with key material sealed under the master key, and the KMS JSON protocol at `POST /`.</summary>
public static class KmsServices
{
    public static IServiceCollection AddKms(this IServiceCollection services)
    {
        services.AddOptions<KmsOptions>().BindConfiguration("Kms").ValidateOnStart();
        services.AddSingleton<IValidateOptions<KmsOptions>, KmsOptionsValidator>();
        services.AddSingleton(sp => MasterKey.LoadOrCreate(sp.GetRequiredService<IOptions<KmsOptions>>().Value.MasterKeyFile, sp.GetRequiredService<DataDirectory>().Path));
        services.AddSqliteSchema(KmsSchema.Schema);
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

    private sealed class KmsOptionsValidator : IValidateOptions<KmsOptions>
    {
        public ValidateOptionsResult Validate(string? name, KmsOptions options) =>
            options.MasterKeyFile is { } file && !File.Exists(file)
                ? ValidateOptionsResult.Fail($"Kms:MasterKeyFile {file}: no such file (leave it out to use DATA/master.key, created on first start)")
                : ValidateOptionsResult.Success;
    }
}
