using System.Globalization;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Lambda.Code;
using Hayate.Lambda.Invoking;
using Hayate.Lambda.Logging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hayate.Lambda.Endpoints;

/// <summary>Hayate's own endpoints beside the AWS ones: code downloads (GetFunction's Code.Location) and log reading for the CLI.</summary>
public static class HayateEndpoints
{
    public static IEndpointRouteBuilder MapHayateApi(this IEndpointRouteBuilder app)
    {
        var hayate = app.MapGroup("/_hayate").WithMetadata(LambdaErrors.Protocol);
        hayate.MapGet("/code/{Sha}.zip", DownloadCode);
        hayate.MapGet("/logs/{FunctionName}", ReadLogs);
        // Asynchronous events accepted and not yet finished (queued, waiting for a retry, or running).
        hayate.MapGet("/async", (AsyncEventQueue queue) =>
            Results.Text("{\"pending\":" + queue.Pending.ToString(CultureInfo.InvariantCulture) + "}", "application/json"));
        return app;
    }

    private static IResult DownloadCode(string sha, CodeStore code) =>
        sha.Length != 64 || !sha.All(char.IsAsciiHexDigitLower) || !File.Exists(code.ZipPath(sha))
            ? LambdaErrors.NotFound("The code package does not exist.")
            : Results.File(code.ZipPath(sha), "application/zip");

    /// <summary>Lines after ?after=ID; with ?wait=SECONDS, waits for new lines instead of answering empty.</summary>
    private static async Task<IResult> ReadLogs(string functionName, HttpContext context, ILogStore store, FunctionLogWriter writer)
    {
        _ = long.TryParse(context.Request.Query["after"], out var after);
        _ = int.TryParse(context.Request.Query["wait"], out var wait);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(TimeSpan.FromSeconds(Math.Clamp(wait, 0, 60)));
        // Register interest before reading, so a line stored in between still wakes us.
        var changed = writer.WaitForNewAsync(functionName, timeout.Token);
        var events = await store.ReadAsync(functionName, after, 1000, context.RequestAborted);
        if (events.Count == 0 && wait > 0)
        {
            try
            {
                await changed;
                events = await store.ReadAsync(functionName, after, 1000, context.RequestAborted);
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
        return AwsJson.Ok(response, LambdaJson.Default.LogEventsResponse);
    }
}
