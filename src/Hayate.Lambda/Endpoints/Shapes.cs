using Hayate.Kernel.Time;
using Hayate.Lambda.Functions;

namespace Hayate.Lambda.Endpoints;

/// <summary>Domain → wire shapes.</summary>
internal static class Shapes
{
    /// <summary>
    /// A version's shape. Its ARN carries <paramref name="arnQualifier"/> when the caller named one
    /// (a version or alias; "" for none), and a published version's number otherwise.
    /// </summary>
    public static FunctionConfigurationShape Configuration(FunctionManager manager, FunctionConfiguration f, string? arnQualifier = null) => new()
    {
        FunctionName = f.Name,
        FunctionArn = manager.ArnOf(f.Name, (arnQualifier ?? (f.Version == "$LATEST" ? "" : f.Version)) is { Length: > 0 } q ? q : null),
        Runtime = f.Runtime,
        Role = f.Role,
        Handler = f.Handler,
        CodeSize = f.CodeSize,
        Description = f.Description,
        Timeout = f.Timeout,
        MemorySize = f.MemorySize,
        LastModified = AwsTime.Format(f.LastModified),
        CodeSha256 = f.CodeSha256,
        Version = f.Version,
        Environment = f.EnvironmentError is { } error
            ? new EnvironmentShape { Error = new EnvironmentErrorShape { ErrorCode = error.Type, Message = error.Message } }
            : f.Environment.Count == 0 ? null : new EnvironmentShape { Variables = new Dictionary<string, string>(f.Environment) },
        KMSKeyArn = f.KmsKeyArn,
        DeadLetterConfig = f.DeadLetterTargetArn is null ? null : new DeadLetterConfigShape { TargetArn = f.DeadLetterTargetArn },
        Layers = f.Layers.Count == 0 ? null : f.Layers.Select(l => new FunctionLayerShape { Arn = l.Arn, CodeSize = l.CodeSize }).ToList(),
        RevisionId = f.RevisionId,
        Architectures = [.. f.Architectures],
        EphemeralStorage = new EphemeralStorageShape { Size = f.EphemeralStorageSize },
        LoggingConfig = new LoggingConfigShape { LogGroup = "/aws/lambda/" + f.Name },
    };

    public static AliasConfigurationShape Alias(FunctionManager manager, AliasConfiguration a) => new()
    {
        AliasArn = manager.AliasArnOf(a),
        Name = a.Name,
        FunctionVersion = a.FunctionVersion,
        Description = a.Description,
        RevisionId = a.RevisionId,
        RoutingConfig = a.AdditionalVersion is null
            ? null
            : new AliasRoutingShape { AdditionalVersionWeights = new Dictionary<string, double> { [a.AdditionalVersion] = a.AdditionalWeight } },
    };
}
