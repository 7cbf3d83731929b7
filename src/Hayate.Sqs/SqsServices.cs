using Hayate.Kernel.Hosting;
using Hayate.Kernel.Protocols.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Sqs;

/// <summary>Wires the queue service: <see cref="QueueService"/> over SQLite, and the SQS JSON protocol at `POST /`.</summary>
public static class SqsServices
{
    public static IServiceCollection AddSqs(this IServiceCollection services)
    {
        services.AddSqliteSchema(SqsSchema.Schema);
        services.AddSingleton<IQueueStore, SqliteQueueStore>();
        services.AddSingleton<QueueService>();
        return services;
    }

    public static IEndpointRouteBuilder MapSqs(this IEndpointRouteBuilder app) => app.MapJsonProtocol(SqsEndpoints.Service);
}
