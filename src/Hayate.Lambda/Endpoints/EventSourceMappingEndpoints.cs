using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Kernel.Time;
using Hayate.Lambda.EventSources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Hayate.Lambda.Endpoints;

// Create/Get/Update/Delete/ListEventSourceMapping(s).
public static partial class LambdaEndpoints
{
    private static void MapEventSourceMappings(this IEndpointRouteBuilder app)
    {
        app.MapPost("/2015-03-31/event-source-mappings", Handle(CreateEventSourceMapping));
        app.MapGet("/2015-03-31/event-source-mappings", Handle(ListEventSourceMappings));
        app.MapGet("/2015-03-31/event-source-mappings/{UUID}", Handle(GetEventSourceMapping));
        app.MapPut("/2015-03-31/event-source-mappings/{UUID}", Handle(UpdateEventSourceMapping));
        app.MapDelete("/2015-03-31/event-source-mappings/{UUID}", Handle(DeleteEventSourceMapping));
    }

    private static async Task<LambdaError?> CreateEventSourceMapping(HttpContext context)
    {
        var mappings = context.RequestServices.GetRequiredService<EventSourceMappings>();
        var request = await ReadJsonAsync(context, 64 * 1024, "CreateEventSourceMapping", LambdaJson.Default.EventSourceMappingRequest);
        if (!request.Ok)
        {
            return request.Error;
        }

        var r = request.Value;
        if (RequireMembers(("functionName", r.FunctionName)) is { } missing)
        {
            return missing;
        }

        var settings = SettingsOf(r);
        return !settings.Ok ? settings.Error : await RespondMappingAsync(context, mappings, await mappings.CreateAsync(r.EventSourceArn, r.FunctionName, settings.Value, context.RequestAborted), 202);
    }

    private static async Task<LambdaError?> GetEventSourceMapping(HttpContext context)
    {
        var mappings = context.RequestServices.GetRequiredService<EventSourceMappings>();
        return await RespondMappingAsync(context, mappings, await mappings.GetAsync(UuidOf(context), context.RequestAborted), 200);
    }

    private static async Task<LambdaError?> UpdateEventSourceMapping(HttpContext context)
    {
        var mappings = context.RequestServices.GetRequiredService<EventSourceMappings>();
        var request = await ReadJsonAsync(context, 64 * 1024, "UpdateEventSourceMapping", LambdaJson.Default.EventSourceMappingRequest);
        if (!request.Ok)
        {
            return request.Error;
        }

        var r = request.Value;
        if (r.EventSourceArn is not null || r.StartingPosition is not null || r.StartingPositionTimestamp is not null)
        {
            return LambdaErrors.InvalidParameter("The event source and starting position of a mapping cannot be changed; create a new mapping instead.");
        }

        var settings = SettingsOf(r);
        return !settings.Ok ? settings.Error : await RespondMappingAsync(context, mappings, await mappings.UpdateAsync(UuidOf(context), r.FunctionName, settings.Value, context.RequestAborted), 202);
    }

    private static async Task<LambdaError?> DeleteEventSourceMapping(HttpContext context)
    {
        var mappings = context.RequestServices.GetRequiredService<EventSourceMappings>();
        return await RespondMappingAsync(context, mappings, await mappings.DeleteAsync(UuidOf(context), context.RequestAborted), 202);
    }

    private static async Task<LambdaError?> ListEventSourceMappings(HttpContext context)
    {
        var mappings = context.RequestServices.GetRequiredService<EventSourceMappings>();
        var page = Page.Read(context);
        if (!page.Ok)
        {
            return page.Error;
        }

        var query = context.Request.Query;
        var arn = query["EventSourceArn"].ToString() is { Length: > 0 } a ? a : null;
        var function = query["FunctionName"].ToString() is { Length: > 0 } f ? f : null;
        var all = await mappings.ListAsync(arn, function, context.RequestAborted);
        if (!all.Ok)
        {
            return all.Error;
        }

        var (items, next) = Page.Slice(all.Value, m => m.Uuid, page.Value);
        var response = new ListEventSourceMappingsResponse
        {
            EventSourceMappings = items.Select(m => MappingShape(mappings, m)).ToList(),
            NextMarker = next,
        };
        await ApiResponse.WriteJsonAsync(context, 200, response, LambdaJson.Default.ListEventSourceMappingsResponse);
        return null;
    }

    private static string UuidOf(HttpContext context) => context.Request.RouteValues["UUID"] as string ?? "";

    /// <summary>The request's settings; members for sources or features Hayate does not have are refused by name, never ignored.</summary>
    private static Result<EventSourceSettings> SettingsOf(EventSourceMappingRequest r)
    {
        foreach (var (name, given) in new[]
        {
            ("Topics", r.Topics is not null),
            ("Queues", r.Queues is not null),
            ("SourceAccessConfigurations", r.SourceAccessConfigurations is { ValueKind: System.Text.Json.JsonValueKind.Array } list && list.GetArrayLength() > 0),
            ("SelfManagedEventSource", r.SelfManagedEventSource is not null),
            ("AmazonManagedKafkaEventSourceConfig", r.AmazonManagedKafkaEventSourceConfig is not null),
            ("SelfManagedKafkaEventSourceConfig", r.SelfManagedKafkaEventSourceConfig is not null),
            ("DocumentDBEventSourceConfig", r.DocumentDBEventSourceConfig is not null),
            ("MetricsConfig", r.MetricsConfig is not null),
            ("LoggingConfig", r.LoggingConfig is not null),
            ("ProvisionedPollerConfig", r.ProvisionedPollerConfig is not null),
            ("KMSKeyArn", r.KMSKeyArn is { Length: > 0 }),
            ("FilterCriteria", r.FilterCriteria?.Filters is { Count: > 0 }),
            ("Tags", r.Tags is { Count: > 0 }),
        })
        {
            if (given)
            {
                return LambdaErrors.InvalidParameter($"Hayate does not support {name} on event source mappings yet; remove it from the request.");
            }
        }

        if (r.StartingPositionTimestamp is { } at && AwsTime.FromEpochSeconds(at) is null)
        {
            return LambdaErrors.InvalidParameter($"StartingPositionTimestamp {at.ToString(System.Globalization.CultureInfo.InvariantCulture)} is not a valid time.");
        }

        return new EventSourceSettings
        {
            Enabled = r.Enabled,
            BatchSize = r.BatchSize,
            MaximumBatchingWindowInSeconds = r.MaximumBatchingWindowInSeconds,
            FunctionResponseTypes = r.FunctionResponseTypes,
            ScalingConfigGiven = r.ScalingConfig is not null,
            MaximumConcurrency = r.ScalingConfig?.MaximumConcurrency,
            StartingPosition = r.StartingPosition,
            StartingPositionTimestamp = r.StartingPositionTimestamp is { } seconds ? AwsTime.FromEpochSeconds(seconds) : null,
            ParallelizationFactor = r.ParallelizationFactor,
            MaximumRecordAgeInSeconds = r.MaximumRecordAgeInSeconds,
            MaximumRetryAttempts = r.MaximumRetryAttempts,
            BisectBatchOnFunctionError = r.BisectBatchOnFunctionError,
            TumblingWindowInSeconds = r.TumblingWindowInSeconds,
            OnFailure = r.DestinationConfig?.OnFailure is { } failure ? failure.Destination ?? "" : null,
            OnSuccessGiven = r.DestinationConfig?.OnSuccess?.Destination is { Length: > 0 },
        };
    }

    private static async Task<LambdaError?> RespondMappingAsync(HttpContext context, EventSourceMappings mappings, Result<EventSourceMapping> mapping, int status)
    {
        if (!mapping.Ok)
        {
            return mapping.Error;
        }

        await ApiResponse.WriteJsonAsync(context, status, MappingShape(mappings, mapping.Value), LambdaJson.Default.EventSourceMappingShape);
        return null;
    }

    private static EventSourceMappingShape MappingShape(EventSourceMappings mappings, EventSourceMapping m)
    {
        var stream = m.Kind == EventSourceKind.Kinesis;
        return new EventSourceMappingShape
        {
            Uuid = m.Uuid,
            StartingPosition = m.StartingPosition,
            StartingPositionTimestamp = m.StartingPositionTimestamp is { } at ? at.ToUnixTimeMilliseconds() / 1000.0 : null,
            BatchSize = m.BatchSize,
            MaximumBatchingWindowInSeconds = m.MaximumBatchingWindowInSeconds,
            ParallelizationFactor = m.ParallelizationFactor,
            EventSourceArn = m.EventSourceArn,
            FunctionArn = mappings.FunctionArnOf(m),
            LastModified = m.LastModified.ToUnixTimeMilliseconds() / 1000.0,
            LastProcessingResult = stream ? mappings.LastProcessingResultOf(m.Uuid) : null,
            State = m.State,
            StateTransitionReason = "USER_INITIATED",
            DestinationConfig = stream ? new DestinationConfigShape { OnFailure = new DestinationShape { Destination = m.OnFailure } } : null,
            MaximumRecordAgeInSeconds = m.MaximumRecordAgeInSeconds,
            BisectBatchOnFunctionError = m.BisectBatchOnFunctionError,
            MaximumRetryAttempts = m.MaximumRetryAttempts,
            TumblingWindowInSeconds = m.TumblingWindowInSeconds,
            FunctionResponseTypes = [.. m.FunctionResponseTypes],
            ScalingConfig = m.MaximumConcurrency is { } max ? new ScalingConfigShape { MaximumConcurrency = max } : null,
            EventSourceMappingArn = mappings.ArnOf(m.Uuid),
        };
    }
}
