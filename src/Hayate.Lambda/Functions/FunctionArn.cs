using System.Text.RegularExpressions;
using Hayate.Kernel.Accounts;

namespace Hayate.Lambda.Functions;

/// <summary>A function reference as callers send it: a name, a partial ARN or a full ARN, with an optional qualifier.</summary>
public readonly record struct FunctionRef(string Name, string? Qualifier)
{
    /// <summary>The region named in an ARN, if one was given.</summary>
    public string? Region { get; init; }

    /// <summary>The account named in a (partial) ARN, if one was given.</summary>
    public string? Account { get; init; }
}

/// <summary>Builds and parses function ARNs in every form the Lambda API accepts.</summary>
public static partial class FunctionArn
{
    // The model's pattern for NamespacedFunctionName: name, ACCOUNT:function:NAME, or the full ARN, each with an optional :QUALIFIER.
    [GeneratedRegex(@"^(arn:(aws[a-zA-Z-]*)?:lambda:)?(?<region>[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(?<account>\d{12}:)?(function:)?(?<name>[a-zA-Z0-9\-_]+)(:(?<qualifier>\$LATEST|[a-zA-Z0-9\-_]+))?\z", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    [GeneratedRegex(@"^[a-zA-Z0-9\-_]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex PlainName();

    public static string For(string region, string account, string name, string? qualifier = null) =>
        new Arn("aws", "lambda", region, account, qualifier is null ? "function:" + name : $"function:{name}:{qualifier}").ToString();

    /// <summary>Parses what a caller sent as FunctionName. False when it breaks the model's pattern.</summary>
    public static bool TryParse(string value, out FunctionRef reference)
    {
        reference = default;
        if (value.Length is 0 or > 256)
        {
            return false;
        }

        var match = Pattern().Match(value);
        if (!match.Success)
        {
            return false;
        }

        var name = match.Groups["name"].Value;
        if (name.Length > Limits.MaxFunctionNameLength)
        {
            return false;
        }

        var qualifier = match.Groups["qualifier"].Success ? match.Groups["qualifier"].Value : null;
        reference = new FunctionRef(name, qualifier)
        {
            Region = match.Groups["region"].Success ? match.Groups["region"].Value.TrimEnd(':') : null,
            Account = match.Groups["account"].Success ? match.Groups["account"].Value.TrimEnd(':') : null,
        };
        return true;
    }

    /// <summary>A name as CreateFunction accepts it for a new function (name or ARN without qualifier).</summary>
    public static bool IsValidPlainName(string name) => PlainName().IsMatch(name);
}
