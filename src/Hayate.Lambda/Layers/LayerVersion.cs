using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Hayate.Kernel.Accounts;
using Hayate.Kernel.Errors;

namespace Hayate.Lambda.Layers;

/// <summary>One immutable version of a layer: a zip unpacked under /opt of the functions that use it.</summary>
public sealed record LayerVersion
{
    public required string LayerName { get; init; }
    public required long Version { get; init; }
    public string Description { get; init; } = "";
    public IReadOnlyList<string> CompatibleRuntimes { get; init; } = [];
    public IReadOnlyList<string> CompatibleArchitectures { get; init; } = [];
    public string? LicenseInfo { get; init; }
    public required string CodeSha256Hex { get; init; }
    public required long CodeSize { get; init; }
    public required DateTimeOffset CreatedDate { get; init; }
}

/// <summary>A layer version as a function references it; the code is kept even if the version is deleted.</summary>
public sealed record FunctionLayer(string Arn, string CodeSha256Hex, long CodeSize);

/// <summary>Layer names and ARNs in the forms the model allows.</summary>
public static partial class LayerArn
{
    [GeneratedRegex(@"^arn:[a-zA-Z0-9-]+:lambda:(?<region>[a-zA-Z0-9-]+):(?<account>\d{12}):layer:(?<name>[a-zA-Z0-9\-_]+)(:(?<version>[0-9]+))?\z", RegexOptions.CultureInvariant)]
    private static partial Regex ArnPattern();

    [GeneratedRegex(@"^[a-zA-Z0-9\-_]{1,140}\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    public static string For(string region, string account, string name) => new Arn("aws", "lambda", region, account, "layer:" + name).ToString();

    public static string For(string region, string account, string name, long version) =>
        For(region, account, name) + ":" + version.ToString(CultureInfo.InvariantCulture);

    /// <summary>A LayerName path member: a name or a layer ARN (without version).</summary>
    public static bool TryParseName(string value, out string name, out string? region, out string? account)
    {
        name = value;
        region = account = null;
        if (NamePattern().IsMatch(value))
        {
            return true;
        }

        var match = ArnPattern().Match(value);
        if (value.Length > 140 || !match.Success || match.Groups["version"].Success)
        {
            return false;
        }

        name = match.Groups["name"].Value;
        region = match.Groups["region"].Value;
        account = match.Groups["account"].Value;
        return true;
    }

    /// <summary>A LayerVersionArn: arn:…:layer:NAME:VERSION.</summary>
    public static bool TryParseVersionArn(string value, out string name, out long version, out string region, out string account)
    {
        var match = ArnPattern().Match(value);
        name = region = account = "";
        version = 0;
        if (value.Length > 140 || !match.Success || !match.Groups["version"].Success ||
            !long.TryParse(match.Groups["version"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out version))
        {
            return false;
        }

        name = match.Groups["name"].Value;
        region = match.Groups["region"].Value;
        account = match.Groups["account"].Value;
        return true;
    }
}

/// <summary>What AddLayerVersionPermission asks for, and the statement it becomes.</summary>
public static partial class LayerPermission
{
    [GeneratedRegex(@"^[a-zA-Z0-9\-_]{1,100}\z", RegexOptions.CultureInvariant)]
    private static partial Regex StatementId();

    [GeneratedRegex(@"^(\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root)\z", RegexOptions.CultureInvariant)]
    private static partial Regex Principal();

    [GeneratedRegex(@"^o-[a-z0-9]{10,32}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Organization();

    public static AwsError? Validate(string statementId, string action, string principal, string? organizationId)
    {
        if (!StatementId().IsMatch(statementId))
        {
            return AwsErrors.Validation("statementId", statementId, "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)");
        }

        if (action != "lambda:GetLayerVersion")
        {
            return AwsErrors.Validation("action", action, "Member must satisfy regular expression pattern: lambda:GetLayerVersion");
        }

        if (!Principal().IsMatch(principal))
        {
            return AwsErrors.Validation("principal", principal, @"Member must satisfy regular expression pattern: \d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root");
        }

        if (organizationId is not null && !Organization().IsMatch(organizationId))
        {
            return AwsErrors.Validation("organizationId", organizationId, "Member must satisfy regular expression pattern: o-[a-z0-9]{10,32}");
        }

        return null;
    }

    /// <summary>The statement as AWS documents it: an account id becomes its root ARN; "*" stays.</summary>
    public static JsonObject Build(string statementId, string principal, string? organizationId, string layerVersionArn)
    {
        var statement = new JsonObject
        {
            ["Sid"] = statementId,
            ["Effect"] = "Allow",
            ["Principal"] = principal == "*" ? "*" : new JsonObject { ["AWS"] = principal.Length == 12 ? $"arn:aws:iam::{principal}:root" : principal },
            ["Action"] = "lambda:GetLayerVersion",
            ["Resource"] = layerVersionArn,
        };
        if (organizationId is not null)
        {
            statement["Condition"] = new JsonObject { ["StringEquals"] = new JsonObject { ["aws:PrincipalOrgID"] = organizationId } };
        }

        return statement;
    }
}
