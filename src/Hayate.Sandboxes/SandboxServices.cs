using Hayate.Sandboxes.Isolation;
using Hayate.Sandboxes.Networking;
using Hayate.Sandboxes.Pooling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hayate.Sandboxes;

/// <summary>Wires the sandbox pool: warm sandboxes per function version, reaped when idle.</summary>
public static class SandboxServices
{
    /// <summary>Settings from the "Sandboxes" section (<see cref="SandboxOptions"/>), checked at start.</summary>
    public static IServiceCollection AddSandboxes(this IServiceCollection services)
    {
        services.AddOptions<SandboxOptions>().BindConfiguration("Sandboxes").ValidateOnStart();
        services.AddSingleton<IValidateOptions<SandboxOptions>, SandboxOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<SandboxOptions>>().Value);
        services.AddSingleton(sp => HostCapabilities.Detect(sp.GetRequiredService<SandboxOptions>()));
        services.AddSingleton<ApiEndpoint>();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<SandboxOptions>();
            return new EgressPolicy(options.Egress == "internet", options.EgressAllow.Select(r => EgressPolicy.TryParseRange(r, out var range) ? range : throw new InvalidOperationException($"Sandboxes:EgressAllow {r}: not a range")));
        });
        services.AddSingleton(sp => new SandboxNetworks(
            sp.GetRequiredService<EgressPolicy>(),
            sp.GetRequiredService<HostCapabilities>().Slirp4netns,
            sp.GetRequiredService<HostCapabilities>().PrivateNetwork,
            sp.GetRequiredService<ILogger<SandboxNetworks>>()));
        services.AddHostedService(sp => sp.GetRequiredService<SandboxNetworks>());
        services.AddSingleton<ProcessSandboxLauncher>();
        services.AddSingleton<ISandboxLauncher>(sp => sp.GetRequiredService<ProcessSandboxLauncher>());
        services.AddSingleton<SandboxPool>();
        services.AddSingleton<ISandboxHost>(sp => sp.GetRequiredService<SandboxPool>());
        services.AddHostedService(sp => sp.GetRequiredService<SandboxPool>());
        return services;
    }
}
