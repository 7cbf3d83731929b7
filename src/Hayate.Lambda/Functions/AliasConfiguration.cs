using System.Globalization;
using System.Text.RegularExpressions;
using Hayate.Kernel.Errors;

namespace Hayate.Lambda.Functions;

/// <summary>
/// A named pointer to a published version (or $LATEST), optionally sending a share of invocations
/// to one more version: Lambda's weighted canary routing.
/// </summary>
public sealed record AliasConfiguration
{
    public required string FunctionName { get; init; }
    public required string Name { get; init; }
    public required string FunctionVersion { get; init; }
    public string Description { get; init; } = "";

    /// <summary>The version that gets <see cref="AdditionalWeight"/> of the invocations, if any.</summary>
    public string? AdditionalVersion { get; init; }
    public double AdditionalWeight { get; init; }
    public required string RevisionId { get; init; }

    /// <summary>Picks the version that runs one invocation; <paramref name="draw"/> is uniform in [0, 1).</summary>
    public string Route(double draw) => AdditionalVersion is not null && draw < AdditionalWeight ? AdditionalVersion : FunctionVersion;
}

/// <summary>The model's and Lambda's rules for aliases and version qualifiers.</summary>
public static partial class AliasValidator
{
    [GeneratedRegex(@"^(?!^[0-9]+\z)[a-zA-Z0-9\-_]{1,128}\z", RegexOptions.CultureInvariant)]
    private static partial Regex AliasName();

    [GeneratedRegex(@"^(\$LATEST|[0-9]{1,10})\z", RegexOptions.CultureInvariant)]
    private static partial Regex VersionPattern();

    public static bool IsVersionNumber(string qualifier) => qualifier.Length is > 0 and <= 10 && qualifier.All(char.IsAsciiDigit);

    public static AwsError? ValidateName(string name) => AliasName().IsMatch(name)
        ? null
        : AwsErrors.Validation("name", name, @"Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)");

    public static AwsError? ValidateVersion(string version, string member = "functionVersion") => VersionPattern().IsMatch(version)
        ? null
        : AwsErrors.Validation(member, version, @"Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)");

    /// <summary>Checks a RoutingConfig against the primary version: one extra published version, weight 0.0–1.0.</summary>
    public static AwsError? ValidateRouting(string primary, IReadOnlyDictionary<string, double>? weights)
    {
        if (weights is null || weights.Count == 0)
        {
            return null;
        }

        if (weights.Count > 1)
        {
            return LambdaErrors.InvalidParameter("Number of items in AdditionalVersionWeights cannot be greater than 1");
        }

        var (version, weight) = weights.First();
        if (ValidateVersion(version, "routingConfig.additionalVersionWeights") is { } badVersion)
        {
            return badVersion;
        }

        if (double.IsNaN(weight) || weight is < 0.0 or > 1.0)
        {
            return AwsErrors.Validation("routingConfig.additionalVersionWeights", "{" + version + "=" + weight.ToString(CultureInfo.InvariantCulture) + "}",
                "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]");
        }

        if (primary == "$LATEST" || version == "$LATEST")
        {
            return LambdaErrors.InvalidParameter("$LATEST is not supported for an alias pointing to more than 1 version");
        }

        if (version == primary)
        {
            return LambdaErrors.InvalidParameter($"Invalid function version {version}. Function version {version} is already included in routing configuration.");
        }

        return null;
    }
}
