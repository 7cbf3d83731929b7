using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Lambda.Code;
using Hayate.Lambda.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Lambda.Endpoints;

/// <summary>Hayate's own endpoints beside the AWS ones: code downloads (GetFunction's Code.Location) and log reading for the CLI.</summary>
public static class HayateEndpoints
{
    public static IEndpointRouteBuilder MapHayateApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/_hayate/code/{Sha}.zip", DownloadCode);
        app.MapGet("/_hayate/logs/{FunctionName}", ReadLogs);
        // Asynchronous events accepted and not yet finished (queued, waiting for a retry, or running).
        app.MapGet("/_hayate/async", (HttpContext context) =>
        {
            var pending = context.RequestServices.GetRequiredService<Invoking.AsyncEventQueue>().Pending;
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("{\"pending\":" + pending.ToString(System.Globalization.CultureInfo.InvariantCulture) + "}");
        });
        return app;
    }

    private static async Task DownloadCode(HttpContext context)
    {
        var sha = context.Request.RouteValues["Sha"] as string ?? "";
        var code = context.RequestServices.GetRequiredService<CodeStore>();
        if (sha.Length != 64 || !sha.All(char.IsAsciiHexDigitLower) || !File.Exists(code.ZipPath(sha)))
        {
            await WireErrors.WriteAsync(context, LambdaErrors.NotFound("The code package does not exist."));
            return;
        }

        context.Response.ContentType = "application/zip";
        await context.Response.SendFileAsync(code.ZipPath(sha), context.RequestAborted);
    }

    /// <summary>Lines after ?after=ID; with ?wait=SECONDS, waits for new lines instead of answering empty.</summary>
    private static async Task ReadLogs(HttpContext context)
    {
        var name = context.Request.RouteValues["FunctionName"] as string ?? "";
        var store = context.RequestServices.GetRequiredService<ILogStore>();
        var writer = context.RequestServices.GetRequiredService<FunctionLogWriter>();
        _ = long.TryParse(context.Request.Query["after"], out var after);
        _ = int.TryParse(context.Request.Query["wait"], out var wait);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(TimeSpan.FromSeconds(Math.Clamp(wait, 0, 60)));
        // Register interest before reading, so a line stored in between still wakes us.
        var changed = writer.WaitForNewAsync(name, timeout.Token);
        var events = await store.ReadAsync(name, after, 1000, context.RequestAborted);
        if (events.Count == 0 && wait > 0)
        {
            try
            {
                await changed;
                events = await store.ReadAsync(name, after, 1000, context.RequestAborted);
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
            }
        }

        var response = new LogEventsResponse
        {
            Events = events.Select(e => new LogEventShape { Id = e.Id, Timestamp = e.Timestamp.ToUnixTimeMilliseconds(), LogStreamName = e.Stream, Message = e.Message }).ToList(),
            NextToken = events.Count > 0 ? events[^1].Id : after,
        };
        await ApiResponse.WriteJsonAsync(context, 200, response, LambdaJson.Default.LogEventsResponse);
    }
}
