using Hayate.Kernel.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hayate.Kernel.Protocols;

/// <summary>What every AWS API on the port shares: a request id on every answer, an error in the AWS shape for a fault or an unknown path.</summary>
public static partial class AwsProtocols
{
    /// <summary>Gives every response an x-amzn-RequestId, and turns an unhandled exception into a ServiceException (500) after logging it.</summary>
    public static IApplicationBuilder UseAwsProtocols(this IApplicationBuilder app)
    {
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Hayate");
        return app.Use(async (context, next) =>
        {
            var id = Guid.NewGuid().ToString();
            context.Features.Set(new AwsRequestId(id));
            context.Response.Headers["x-amzn-RequestId"] = id;
            try
            {
                await next(context);
            }
            catch (Exception ex) when (!context.Response.HasStarted && ex is not OperationCanceledException)
            {
                LogUnhandled(logger, ex, context.Request.Method, context.Request.Path);
                await AwsErrors.Service("An internal error occurred; the server log has the details.").ExecuteAsync(context);
            }
        });
    }

    /// <summary>Any path no service maps: UnknownOperationException (404), as the rest-json APIs answer it.</summary>
    public static IEndpointRouteBuilder MapUnknownOperations(this IEndpointRouteBuilder app)
    {
        app.MapFallback((HttpContext context) => AwsErrors.UnknownOperation(context.Request.Method, context.Request.Path));
        return app;
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "unhandled error in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}

/// <summary>The request id of this call (x-amzn-RequestId), set once by <see cref="AwsProtocols.UseAwsProtocols"/>.</summary>
public sealed record AwsRequestId(string Value)
{
    /// <summary>This request's id; a new one when the request did not pass the middleware.</summary>
    public static string Of(HttpContext context) => context.Features.Get<AwsRequestId>()?.Value ?? Guid.NewGuid().ToString();
}
