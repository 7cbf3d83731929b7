using System.Text.RegularExpressions;
using Hayate.Kernel.Errors;

namespace Hayate.Lambda.Functions;

/// <summary>The configuration a caller may set on create or update; null means "not given".</summary>
public sealed record FunctionSettings
{
    public string? Runtime { get; init; }
    public string? Handler { get; init; }
    public string? Role { get; init; }
    public string? Description { get; init; }
    public int? MemorySize { get; init; }
    public int? Timeout { get; init; }
    public int? EphemeralStorageSize { get; init; }
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>Layer version ARNs, in order; empty removes every layer.</summary>
    public IReadOnlyList<string>? Layers { get; init; }

    /// <summary>The KMS key for the environment; "" means the default key (alias/aws/lambda).</summary>
    public string? KmsKeyArn { get; init; }

    /// <summary>DeadLetterConfig.TargetArn; "" removes the dead-letter queue.</summary>
    public string? DeadLetterTargetArn { get; init; }
}

/// <summary>Checks settings against the model's constraints and Lambda's own rules, in the order AWS reports them.</summary>
public static partial class FunctionValidator
{
    /// <summary>Variables Lambda sets itself and does not let a function override.</summary>
    private static readonly HashSet<string> ReservedVariables = new(StringComparer.Ordinal)
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    };

    [GeneratedRegex(@"^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex RolePattern();

    [GeneratedRegex(@"^[a-zA-Z]([a-zA-Z0-9_])+\z", RegexOptions.CultureInvariant)]
    private static partial Regex VariableName();

    [GeneratedRegex(@"^[^\s]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex HandlerPattern();

    [GeneratedRegex(@"^((arn:(aws[a-zA-Z-]*)?:[a-z0-9\-.]+:.*)|)\z", RegexOptions.CultureInvariant)]
    private static partial Regex KmsKeyArnPattern();

    [GeneratedRegex(@"^arn:(aws[a-zA-Z-]*)?:(sqs|sns):[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_.]+\z", RegexOptions.CultureInvariant)]
    private static partial Regex DeadLetterPattern();

    /// <summary>Null when the tags are acceptable: at most 50, keys of 1–128 characters not starting with "aws:", values up to 256.</summary>
    public static AwsError? ValidateTags(IReadOnlyDictionary<string, string> tags, int existing = 0)
    {
        if (tags.Count + existing > 50)
        {
            return LambdaErrors.InvalidParameter("Number of tags exceeds resource tag limit of 50.");
        }

        foreach (var (key, value) in tags)
        {
            if (key.Length is 0 or > 128)
            {
                return LambdaErrors.InvalidParameter($"Tag key '{key}' must be 1 to 128 characters long.");
            }

            if (key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase))
            {
                return LambdaErrors.InvalidParameter($"Tag key '{key}' uses the reserved prefix 'aws:'.");
            }

            if (value.Length > 256)
            {
                return LambdaErrors.InvalidParameter($"The value of tag '{key}' must be at most 256 characters long.");
            }
        }

        return null;
    }

    /// <summary>Null when the settings are acceptable; otherwise the first error, as Lambda words it.</summary>
    public static AwsError? Validate(FunctionSettings settings, bool creating)
    {
        if (settings.Role is { } role && !RolePattern().IsMatch(role))
        {
            return AwsErrors.Validation("role", role, @"Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+");
        }

        if (settings.KmsKeyArn is { } kmsKeyArn && !KmsKeyArnPattern().IsMatch(kmsKeyArn))
        {
            return AwsErrors.Validation("kMSKeyArn", kmsKeyArn, @"Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()");
        }

        if (settings.DeadLetterTargetArn is { Length: > 0 } deadLetter && !DeadLetterPattern().IsMatch(deadLetter))
        {
            return LambdaErrors.InvalidParameter($"The provided target arn {deadLetter} is invalid: a dead-letter queue is an Amazon SQS queue or Amazon SNS topic ARN.");
        }

        if (settings.Runtime is { } runtime && !RuntimeCatalog.TryGetKind(runtime, out _))
        {
            return LambdaErrors.InvalidParameter(
                $"The runtime parameter of {runtime} is not supported by Hayate. Supported runtimes: {string.Join(", ", RuntimeCatalog.Identifiers)}.");
        }

        if (settings.Handler is { } handler && (handler.Length > Limits.MaxHandlerLength || !HandlerPattern().IsMatch(handler)))
        {
            return AwsErrors.Validation("handler", handler, handler.Length > Limits.MaxHandlerLength
                ? $"Member must have length less than or equal to {Limits.MaxHandlerLength}"
                : @"Member must satisfy regular expression pattern: [^\s]+");
        }

        if (creating && (settings.Runtime is null || settings.Handler is null))
        {
            return LambdaErrors.InvalidParameter("Runtime and Handler are mandatory parameters for functions created with deployment packages.");
        }

        if (settings.Description is { Length: > Limits.MaxDescriptionLength } description)
        {
            return AwsErrors.Validation("description", description, $"Member must have length less than or equal to {Limits.MaxDescriptionLength}");
        }

        if (settings.MemorySize is { } memory && memory is < Limits.MinMemorySize or > Limits.MaxMemorySize)
        {
            return memory < Limits.MinMemorySize
                ? AwsErrors.Validation("memorySize", memory.ToString(System.Globalization.CultureInfo.InvariantCulture), $"Member must have value greater than or equal to {Limits.MinMemorySize}")
                : LambdaErrors.InvalidParameter($"'MemorySize' value failed to satisfy constraint: Member must have value less than or equal to {Limits.MaxMemorySize}");
        }

        if (settings.Timeout is { } timeout && timeout is < Limits.MinTimeout or > Limits.MaxTimeout)
        {
            return timeout < Limits.MinTimeout
                ? AwsErrors.Validation("timeout", timeout.ToString(System.Globalization.CultureInfo.InvariantCulture), $"Member must have value greater than or equal to {Limits.MinTimeout}")
                : LambdaErrors.InvalidParameter($"'Timeout' value failed to satisfy constraint: Member must have value less than or equal to {Limits.MaxTimeout}");
        }

        if (settings.EphemeralStorageSize is { } storage && storage is < Limits.MinEphemeralStorage or > Limits.MaxEphemeralStorage)
        {
            return AwsErrors.Validation("ephemeralStorage.size", storage.ToString(System.Globalization.CultureInfo.InvariantCulture),
                storage < Limits.MinEphemeralStorage
                    ? $"Member must have value greater than or equal to {Limits.MinEphemeralStorage}"
                    : $"Member must have value less than or equal to {Limits.MaxEphemeralStorage}");
        }

        if (settings.Environment is { } environment)
        {
            foreach (var key in environment.Keys)
            {
                if (!VariableName().IsMatch(key))
                {
                    return AwsErrors.Validation("environment.variables", "[sensitive]", @"Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]");
                }
            }

            var reserved = environment.Keys.Where(ReservedVariables.Contains).Order(StringComparer.Ordinal).ToList();
            if (reserved.Count > 0)
            {
                return LambdaErrors.InvalidParameter(
                    "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: " + string.Join(", ", reserved));
            }

            var size = environment.Sum(kv => System.Text.Encoding.UTF8.GetByteCount(kv.Key) + System.Text.Encoding.UTF8.GetByteCount(kv.Value));
            if (size > Limits.MaxEnvironmentSize)
            {
                return LambdaErrors.InvalidParameter(
                    "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: " + size.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return null;
    }
}
