using Hayate.Sandboxes.Isolation;
using Hayate.Sandboxes.Pooling;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Sandboxes;

/// <summary>Wires the sandbox pool: warm sandboxes per function version, reaped when idle.</summary>
public static class SandboxServices
{
    public static IServiceCollection AddSandboxes(this IServiceCollection services, SandboxOptions options, HostCapabilities host)
    {
        services.AddSingleton(options);
        services.AddSingleton(host);
        services.AddSingleton<SandboxPool>();
        services.AddSingleton<ISandboxHost>(sp => sp.GetRequiredService<SandboxPool>());
        services.AddHostedService(sp => sp.GetRequiredService<SandboxPool>());
        return services;
    }
}
