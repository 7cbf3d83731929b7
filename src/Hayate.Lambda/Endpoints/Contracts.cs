using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hayate.Lambda.Endpoints;

// Request and response shapes of the Lambda API (botocore model lambda/2015-03-31), member names as the model spells them.

/// <summary>The members CreateFunction and UpdateFunctionConfiguration share: one mapper turns them into FunctionSettings.</summary>
internal interface IFunctionSettingsRequest
{
    string? Runtime { get; }
    string? Role { get; }
    string? Handler { get; }
    string? Description { get; }
    int? Timeout { get; }
    int? MemorySize { get; }
    EnvironmentShape? Environment { get; }
    EphemeralStorageShape? EphemeralStorage { get; }
    List<string>? Layers { get; }
    string? KMSKeyArn { get; }
    DeadLetterConfigShape? DeadLetterConfig { get; }
}

internal sealed class CreateFunctionRequest : IFunctionSettingsRequest
{
    public string? FunctionName { get; set; }
    public string? Runtime { get; set; }
    public string? Role { get; set; }
    public string? Handler { get; set; }
    public FunctionCode? Code { get; set; }
    public string? Description { get; set; }
    public int? Timeout { get; set; }
    public int? MemorySize { get; set; }
    public bool? Publish { get; set; }
    public string? PackageType { get; set; }
    public EnvironmentShape? Environment { get; set; }
    public EphemeralStorageShape? EphemeralStorage { get; set; }
    public List<string>? Architectures { get; set; }
    public Dictionary<string, string>? Tags { get; set; }
    public List<string>? Layers { get; set; }
    public string? KMSKeyArn { get; set; }
    public DeadLetterConfigShape? DeadLetterConfig { get; set; }
}

internal sealed class FunctionCode
{
    public byte[]? ZipFile { get; set; }
    public string? S3Bucket { get; set; }
    public string? S3Key { get; set; }
    public string? S3ObjectVersion { get; set; }
    public string? ImageUri { get; set; }
}

internal sealed class EnvironmentShape
{
    public Dictionary<string, string>? Variables { get; set; }

    /// <summary>In responses only: why the variables could not be decrypted.</summary>
    public EnvironmentErrorShape? Error { get; set; }
}

internal sealed class DeadLetterConfigShape
{
    public string? TargetArn { get; set; }
}

internal sealed class EnvironmentErrorShape
{
    public string? ErrorCode { get; set; }
    public string? Message { get; set; }
}

internal sealed class EphemeralStorageShape
{
    public int? Size { get; set; }
}

internal sealed class UpdateFunctionCodeRequest
{
    public byte[]? ZipFile { get; set; }
    public string? S3Bucket { get; set; }
    public string? S3Key { get; set; }
    public string? S3ObjectVersion { get; set; }
    public string? ImageUri { get; set; }
    public bool? Publish { get; set; }
    public bool? DryRun { get; set; }
    public string? RevisionId { get; set; }
    public List<string>? Architectures { get; set; }
}

internal sealed class UpdateFunctionConfigurationRequest : IFunctionSettingsRequest
{
    public string? Role { get; set; }
    public string? Handler { get; set; }
    public string? Description { get; set; }
    public int? Timeout { get; set; }
    public int? MemorySize { get; set; }
    public EnvironmentShape? Environment { get; set; }
    public string? Runtime { get; set; }
    public string? RevisionId { get; set; }
    public EphemeralStorageShape? EphemeralStorage { get; set; }
    public List<string>? Layers { get; set; }
    public string? KMSKeyArn { get; set; }
    public DeadLetterConfigShape? DeadLetterConfig { get; set; }
}

internal sealed class FunctionConfigurationShape
{
    public required string FunctionName { get; init; }
    public required string FunctionArn { get; init; }
    public required string Runtime { get; init; }
    public required string Role { get; init; }
    public required string Handler { get; init; }
    public required long CodeSize { get; init; }
    public required string Description { get; init; }
    public required int Timeout { get; init; }
    public required int MemorySize { get; init; }
    public required string LastModified { get; init; }
    public required string CodeSha256 { get; init; }
    public required string Version { get; init; }
    public EnvironmentShape? Environment { get; init; }
    public string? KMSKeyArn { get; init; }
    public DeadLetterConfigShape? DeadLetterConfig { get; init; }
    public List<FunctionLayerShape>? Layers { get; init; }
    public TracingConfigShape TracingConfig { get; init; } = new();
    public required string RevisionId { get; init; }
    public string State { get; init; } = "Active";
    public string LastUpdateStatus { get; init; } = "Successful";
    public string PackageType { get; init; } = "Zip";
    public required List<string> Architectures { get; init; }
    public required EphemeralStorageShape EphemeralStorage { get; init; }
    public SnapStartShape SnapStart { get; init; } = new();
    public required LoggingConfigShape LoggingConfig { get; init; }
}

internal sealed class TracingConfigShape
{
    public string Mode { get; init; } = "PassThrough";
}

internal sealed class SnapStartShape
{
    public string ApplyOn { get; init; } = "None";
    public string OptimizationStatus { get; init; } = "Off";
}

internal sealed class LoggingConfigShape
{
    public string LogFormat { get; init; } = "Text";
    public required string LogGroup { get; init; }
}

internal sealed class AddPermissionRequest
{
    public string? StatementId { get; set; }
    public string? Action { get; set; }
    public string? Principal { get; set; }
    public string? SourceArn { get; set; }
    public string? SourceAccount { get; set; }
    public string? EventSourceToken { get; set; }
    public string? RevisionId { get; set; }
    public string? PrincipalOrgID { get; set; }
    public string? FunctionUrlAuthType { get; set; }
}

internal sealed class AddPermissionResponse
{
    public required string Statement { get; init; }
}

internal sealed class GetPolicyResponse
{
    public required string Policy { get; init; }
    public required string RevisionId { get; init; }
}

internal sealed class TagResourceRequest
{
    public Dictionary<string, string>? Tags { get; set; }
}

internal sealed class ListTagsResponse
{
    public required Dictionary<string, string> Tags { get; init; }
}

internal sealed class GetFunctionResponse
{
    public Dictionary<string, string>? Tags { get; init; }

    public ConcurrencyShape? Concurrency { get; init; }

    public required FunctionConfigurationShape Configuration { get; init; }
    public required FunctionCodeLocation Code { get; init; }
}

internal sealed class FunctionCodeLocation
{
    public string RepositoryType { get; init; } = "S3";
    public required string Location { get; init; }
}

internal sealed class ListFunctionsResponse
{
    public string? NextMarker { get; init; }
    public required List<FunctionConfigurationShape> Functions { get; init; }
}

internal sealed class AccountSettingsResponse
{
    public required AccountLimitShape AccountLimit { get; init; }
    public required AccountUsageShape AccountUsage { get; init; }
}

internal sealed class AccountLimitShape
{
    public long TotalCodeSize { get; init; }
    public long CodeSizeUnzipped { get; init; }
    public long CodeSizeZipped { get; init; }
    public int ConcurrentExecutions { get; init; }
    public int UnreservedConcurrentExecutions { get; init; }
}

internal sealed class AccountUsageShape
{
    public long TotalCodeSize { get; init; }
    public long FunctionCount { get; init; }
}

internal sealed class PublishVersionRequest
{
    public string? CodeSha256 { get; set; }
    public string? Description { get; set; }
    public string? RevisionId { get; set; }
}

internal sealed class ListVersionsByFunctionResponse
{
    public string? NextMarker { get; init; }
    public required List<FunctionConfigurationShape> Versions { get; init; }
}

internal sealed class AliasRoutingShape
{
    public Dictionary<string, double>? AdditionalVersionWeights { get; set; }
}

internal sealed class CreateAliasRequest
{
    public string? Name { get; set; }
    public string? FunctionVersion { get; set; }
    public string? Description { get; set; }
    public AliasRoutingShape? RoutingConfig { get; set; }
}

internal sealed class UpdateAliasRequest
{
    public string? FunctionVersion { get; set; }
    public string? Description { get; set; }
    public AliasRoutingShape? RoutingConfig { get; set; }
    public string? RevisionId { get; set; }
}

internal sealed class AliasConfigurationShape
{
    public required string AliasArn { get; init; }
    public required string Name { get; init; }
    public required string FunctionVersion { get; init; }
    public required string Description { get; init; }
    public AliasRoutingShape? RoutingConfig { get; init; }
    public required string RevisionId { get; init; }
}

internal sealed class ListAliasesResponse
{
    public string? NextMarker { get; init; }
    public required List<AliasConfigurationShape> Aliases { get; init; }
}

internal sealed class ConcurrencyShape
{
    public int? ReservedConcurrentExecutions { get; set; }
}

internal sealed class PutProvisionedConcurrencyConfigRequest
{
    public int? ProvisionedConcurrentExecutions { get; set; }
}

internal sealed class ProvisionedConcurrencyConfigShape
{
    public string? FunctionArn { get; init; }
    public int RequestedProvisionedConcurrentExecutions { get; init; }
    public int AvailableProvisionedConcurrentExecutions { get; init; }
    public int AllocatedProvisionedConcurrentExecutions { get; init; }
    public required string Status { get; init; }
    public string? StatusReason { get; init; }
    public required string LastModified { get; init; }
}

internal sealed class ListProvisionedConcurrencyConfigsResponse
{
    public required List<ProvisionedConcurrencyConfigShape> ProvisionedConcurrencyConfigs { get; init; }
    public string? NextMarker { get; init; }
}

internal sealed class LayerContentInput
{
    public byte[]? ZipFile { get; set; }
    public string? S3Bucket { get; set; }
    public string? S3Key { get; set; }
    public string? S3ObjectVersion { get; set; }
}

internal sealed class PublishLayerVersionRequest
{
    public string? Description { get; set; }
    public LayerContentInput? Content { get; set; }
    public List<string>? CompatibleRuntimes { get; set; }
    public string? LicenseInfo { get; set; }
    public List<string>? CompatibleArchitectures { get; set; }
}

internal sealed class LayerContentShape
{
    public required string Location { get; init; }
    public required string CodeSha256 { get; init; }
    public required long CodeSize { get; init; }
}

internal sealed class LayerVersionResponse
{
    public required LayerContentShape Content { get; init; }
    public required string LayerArn { get; init; }
    public required string LayerVersionArn { get; init; }
    public required string Description { get; init; }
    public required string CreatedDate { get; init; }
    public required long Version { get; init; }
    public List<string>? CompatibleRuntimes { get; init; }
    public string? LicenseInfo { get; init; }
    public List<string>? CompatibleArchitectures { get; init; }
}

internal sealed class LayerVersionsListItem
{
    public required string LayerVersionArn { get; init; }
    public required long Version { get; init; }
    public required string Description { get; init; }
    public required string CreatedDate { get; init; }
    public List<string>? CompatibleRuntimes { get; init; }
    public string? LicenseInfo { get; init; }
    public List<string>? CompatibleArchitectures { get; init; }
}

internal sealed class LayersListItem
{
    public required string LayerName { get; init; }
    public required string LayerArn { get; init; }
    public required LayerVersionsListItem LatestMatchingVersion { get; init; }
}

internal sealed class ListLayersResponse
{
    public string? NextMarker { get; init; }
    public required List<LayersListItem> Layers { get; init; }
}

internal sealed class ListLayerVersionsResponse
{
    public string? NextMarker { get; init; }
    public required List<LayerVersionsListItem> LayerVersions { get; init; }
}

internal sealed class AddLayerVersionPermissionRequest
{
    public string? StatementId { get; set; }
    public string? Action { get; set; }
    public string? Principal { get; set; }
    public string? OrganizationId { get; set; }
}

internal sealed class LayerPolicyResponse
{
    public string? Statement { get; init; }
    public string? Policy { get; init; }
    public required string RevisionId { get; init; }
}

internal sealed class FunctionLayerShape
{
    public required string Arn { get; init; }
    public required long CodeSize { get; init; }
}

internal sealed class DestinationShape
{
    public string? Destination { get; set; }
}

internal sealed class DestinationConfigShape
{
    public DestinationShape? OnSuccess { get; set; }
    public DestinationShape? OnFailure { get; set; }
}

internal sealed class EventInvokeConfigRequest
{
    public int? MaximumRetryAttempts { get; set; }
    public int? MaximumEventAgeInSeconds { get; set; }
    public DestinationConfigShape? DestinationConfig { get; set; }
}

internal sealed class EventInvokeConfigShape
{
    public required double LastModified { get; init; }
    public required string FunctionArn { get; init; }
    public int? MaximumRetryAttempts { get; init; }
    public int? MaximumEventAgeInSeconds { get; init; }
    public required DestinationConfigShape DestinationConfig { get; init; }
}

internal sealed class ListEventInvokeConfigsResponse
{
    public required List<EventInvokeConfigShape> FunctionEventInvokeConfigs { get; init; }
    public string? NextMarker { get; init; }
}

internal sealed class InvokeAsyncResponse
{
    public int Status { get; init; }
}

internal sealed class LogEventShape
{
    [JsonPropertyName("id")]
    public long Id { get; init; }

    [JsonPropertyName("timestamp")]
    public long Timestamp { get; init; }

    [JsonPropertyName("logStreamName")]
    public required string LogStreamName { get; init; }

    [JsonPropertyName("message")]
    public required string Message { get; init; }
}

internal sealed class LogEventsResponse
{
    [JsonPropertyName("events")]
    public required List<LogEventShape> Events { get; init; }

    [JsonPropertyName("nextToken")]
    public long NextToken { get; init; }
}

internal sealed class ScalingConfigShape
{
    public int? MaximumConcurrency { get; set; }
}

internal sealed class FilterCriteriaShape
{
    public List<JsonElement>? Filters { get; set; }
}

/// <summary>Create and UpdateEventSourceMapping; members for sources Hayate does not read are taken only to refuse them by name.</summary>
internal sealed class EventSourceMappingRequest
{
    public string? EventSourceArn { get; set; }
    public string? FunctionName { get; set; }
    public bool? Enabled { get; set; }
    public int? BatchSize { get; set; }
    public int? MaximumBatchingWindowInSeconds { get; set; }
    public int? ParallelizationFactor { get; set; }
    public string? StartingPosition { get; set; }
    public double? StartingPositionTimestamp { get; set; }
    public DestinationConfigShape? DestinationConfig { get; set; }
    public int? MaximumRecordAgeInSeconds { get; set; }
    public bool? BisectBatchOnFunctionError { get; set; }
    public int? MaximumRetryAttempts { get; set; }
    public int? TumblingWindowInSeconds { get; set; }
    public List<string>? FunctionResponseTypes { get; set; }
    public ScalingConfigShape? ScalingConfig { get; set; }
    public FilterCriteriaShape? FilterCriteria { get; set; }
    public Dictionary<string, string>? Tags { get; set; }
    public JsonElement? Topics { get; set; }
    public JsonElement? Queues { get; set; }
    public JsonElement? SourceAccessConfigurations { get; set; }
    public JsonElement? SelfManagedEventSource { get; set; }
    public JsonElement? AmazonManagedKafkaEventSourceConfig { get; set; }
    public JsonElement? SelfManagedKafkaEventSourceConfig { get; set; }
    public JsonElement? DocumentDBEventSourceConfig { get; set; }
    public JsonElement? MetricsConfig { get; set; }
    public JsonElement? LoggingConfig { get; set; }
    public JsonElement? ProvisionedPollerConfig { get; set; }
    public string? KMSKeyArn { get; set; }
}

internal sealed class EventSourceMappingShape
{
    [JsonPropertyName("UUID")]
    public required string Uuid { get; init; }
    public string? StartingPosition { get; init; }
    public double? StartingPositionTimestamp { get; init; }
    public required int BatchSize { get; init; }
    public required int MaximumBatchingWindowInSeconds { get; init; }
    public int? ParallelizationFactor { get; init; }
    public required string EventSourceArn { get; init; }
    public required string FunctionArn { get; init; }
    public required double LastModified { get; init; }
    public string? LastProcessingResult { get; init; }
    public required string State { get; init; }
    public required string StateTransitionReason { get; init; }
    public DestinationConfigShape? DestinationConfig { get; init; }
    public int? MaximumRecordAgeInSeconds { get; init; }
    public bool? BisectBatchOnFunctionError { get; init; }
    public int? MaximumRetryAttempts { get; init; }
    public int? TumblingWindowInSeconds { get; init; }
    public required List<string> FunctionResponseTypes { get; init; }
    public ScalingConfigShape? ScalingConfig { get; init; }
    public required string EventSourceMappingArn { get; init; }
}

internal sealed class ListEventSourceMappingsResponse
{
    public required List<EventSourceMappingShape> EventSourceMappings { get; init; }
    public string? NextMarker { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.Unspecified)]
[JsonSerializable(typeof(CreateFunctionRequest))]
[JsonSerializable(typeof(UpdateFunctionCodeRequest))]
[JsonSerializable(typeof(UpdateFunctionConfigurationRequest))]
[JsonSerializable(typeof(FunctionConfigurationShape))]
[JsonSerializable(typeof(GetFunctionResponse))]
[JsonSerializable(typeof(ListFunctionsResponse))]
[JsonSerializable(typeof(AccountSettingsResponse))]
[JsonSerializable(typeof(LogEventsResponse))]
[JsonSerializable(typeof(TagResourceRequest))]
[JsonSerializable(typeof(AddPermissionRequest))]
[JsonSerializable(typeof(AddPermissionResponse))]
[JsonSerializable(typeof(GetPolicyResponse))]
[JsonSerializable(typeof(ListTagsResponse))]
[JsonSerializable(typeof(PublishVersionRequest))]
[JsonSerializable(typeof(ListVersionsByFunctionResponse))]
[JsonSerializable(typeof(CreateAliasRequest))]
[JsonSerializable(typeof(UpdateAliasRequest))]
[JsonSerializable(typeof(AliasConfigurationShape))]
[JsonSerializable(typeof(ListAliasesResponse))]
[JsonSerializable(typeof(ConcurrencyShape))]
[JsonSerializable(typeof(EventInvokeConfigRequest))]
[JsonSerializable(typeof(EventInvokeConfigShape))]
[JsonSerializable(typeof(ListEventInvokeConfigsResponse))]
[JsonSerializable(typeof(InvokeAsyncResponse))]
[JsonSerializable(typeof(PublishLayerVersionRequest))]
[JsonSerializable(typeof(LayerVersionResponse))]
[JsonSerializable(typeof(ListLayersResponse))]
[JsonSerializable(typeof(ListLayerVersionsResponse))]
[JsonSerializable(typeof(AddLayerVersionPermissionRequest))]
[JsonSerializable(typeof(LayerPolicyResponse))]
[JsonSerializable(typeof(PutProvisionedConcurrencyConfigRequest))]
[JsonSerializable(typeof(ProvisionedConcurrencyConfigShape))]
[JsonSerializable(typeof(ListProvisionedConcurrencyConfigsResponse))]
[JsonSerializable(typeof(EventSourceMappingRequest))]
[JsonSerializable(typeof(EventSourceMappingShape))]
[JsonSerializable(typeof(ListEventSourceMappingsResponse))]
internal sealed partial class LambdaJson : JsonSerializerContext;
