using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
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
            context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
            try
            {
                await next(context);
            }
            catch (Exception ex) when (!context.Response.HasStarted && ex is not OperationCanceledException)
            {
                LogUnhandled(logger, ex, context.Request.Method, context.Request.Path);
                await WireErrors.WriteAsync(context, LambdaErrors.Service("An internal error occurred; the server log has the details."));
            }
        });
    }

    /// <summary>Any path no service maps: UnknownOperationException (404), as the rest-json APIs answer it.</summary>
    public static IEndpointRouteBuilder MapUnknownOperations(this IEndpointRouteBuilder app)
    {
        app.MapFallback((HttpContext context) => WireErrors.WriteAsync(context, LambdaErrors.UnknownOperation(context.Request.Method, context.Request.Path)));
        return app;
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "unhandled error in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
