using Hayate.Kernel.Hosting;
using Hayate.Kernel.Protocols.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Kinesis;

/// <summary>Wires the stream service: <see cref="StreamService"/> over SQLite, and the Kinesis JSON protocol at `POST /`.</summary>
public static class KinesisServices
{
    public static IServiceCollection AddKinesis(this IServiceCollection services)
    {
        services.AddSqliteSchema(KinesisSchema.Schema);
        services.AddSingleton<IStreamStore, SqliteStreamStore>();
        services.AddSingleton<StreamService>();
        return services;
    }

    public static IEndpointRouteBuilder MapKinesis(this IEndpointRouteBuilder app) => app.MapJsonProtocol(KinesisEndpoints.Service);
}
