using Hayate.Kernel.Errors;
using Hayate.Kernel.Protocols.RestJson;
using Hayate.Kernel.Time;
using Hayate.Lambda.EventSources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Hayate.Lambda.Endpoints;

// Create/Get/Update/Delete/ListEventSourceMapping(s).
public static partial class LambdaEndpoints
{
    private static void MapEventSourceMappings(RouteGroupBuilder api)
    {
        var mappings = api.MapGroup("/2015-03-31/event-source-mappings");
        mappings.MapPost("", CreateEventSourceMapping);
        mappings.MapGet("", ListEventSourceMappings);
        mappings.MapGet("/{UUID}", GetEventSourceMapping);
        mappings.MapPut("/{UUID}", UpdateEventSourceMapping);
        mappings.MapDelete("/{UUID}", DeleteEventSourceMapping);
    }

    private static Task<IResult> CreateEventSourceMapping(HttpContext context, EventSourceMappings mappings) =>
        ApiRequest.ReadJsonAsync(context, MaxSmallRequest, "CreateEventSourceMapping", LambdaJson.Default.EventSourceMappingRequest)
            .Check(r => RequireMembers(("functionName", r.FunctionName)))
            .ThenAsync(r => SettingsOf(r).ThenAsync(settings => mappings.CreateAsync(r.EventSourceArn, r.FunctionName, settings, context.RequestAborted)))
            .ToHttp(m => Mapping(mappings, m, 202));

    private static Task<IResult> GetEventSourceMapping(string uuid, HttpContext context, EventSourceMappings mappings) =>
        mappings.GetAsync(uuid, context.RequestAborted).ToHttp(m => Mapping(mappings, m, 200));

    private static Task<IResult> UpdateEventSourceMapping(string uuid, HttpContext context, EventSourceMappings mappings) =>
        ApiRequest.ReadJsonAsync(context, MaxSmallRequest, "UpdateEventSourceMapping", LambdaJson.Default.EventSourceMappingRequest)
            .Check(r => r.EventSourceArn is not null || r.StartingPosition is not null || r.StartingPositionTimestamp is not null
                ? LambdaErrors.InvalidParameter("The event source and starting position of a mapping cannot be changed; create a new mapping instead.")
                : null)
            .ThenAsync(r => SettingsOf(r).ThenAsync(settings => mappings.UpdateAsync(uuid, r.FunctionName, settings, context.RequestAborted)))
            .ToHttp(m => Mapping(mappings, m, 202));

    private static Task<IResult> DeleteEventSourceMapping(string uuid, HttpContext context, EventSourceMappings mappings) =>
        mappings.DeleteAsync(uuid, context.RequestAborted).ToHttp(m => Mapping(mappings, m, 202));

    private static async Task<IResult> ListEventSourceMappings(HttpContext context, EventSourceMappings mappings)
    {
        var page = Page.Read(context);
        if (!page.Ok)
        {
            return page.Error;
        }

        var query = context.Request.Query;
        var arn = query["EventSourceArn"].ToString() is { Length: > 0 } a ? a : null;
        var function = query["FunctionName"].ToString() is { Length: > 0 } f ? f : null;
        return await mappings.ListAsync(arn, function, context.RequestAborted).ToHttp(all =>
        {
            var (items, next) = Page.Slice(all, m => m.Uuid, page.Value);
            return AwsJson.Ok(new ListEventSourceMappingsResponse
            {
                EventSourceMappings = items.Select(m => MappingShape(mappings, m)).ToList(),
                NextMarker = next,
            }, LambdaJson.Default.ListEventSourceMappingsResponse);
        });
    }

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

    private static IResult Mapping(EventSourceMappings mappings, EventSourceMapping mapping, int status) =>
        AwsJson.Ok(MappingShape(mappings, mapping), LambdaJson.Default.EventSourceMappingShape, status);

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
