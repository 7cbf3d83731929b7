using Hayate.Core.Functions;
using Hayate.Invocation.Functions;

namespace Hayate.Api.Lambda;

/// <summary>Domain → wire shapes.</summary>
internal static class Shapes
{
    public static FunctionConfigurationShape Configuration(FunctionManager manager, FunctionConfiguration f) => new()
    {
        FunctionName = f.Name,
        FunctionArn = manager.ArnOf(f.Name),
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
        Environment = f.Environment.Count == 0 ? null : new EnvironmentShape { Variables = new Dictionary<string, string>(f.Environment) },
        RevisionId = f.RevisionId,
        Architectures = [.. f.Architectures],
        EphemeralStorage = new EphemeralStorageShape { Size = f.EphemeralStorageSize },
        LoggingConfig = new LoggingConfigShape { LogGroup = "/aws/lambda/" + f.Name },
    };
}
