using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Hayate.Kernel.Accounts;

/// <summary>Where the account lives: region and account id used in every ARN (section "Account").</summary>
public sealed record AccountOptions
{
    public string Region { get; set; } = "us-east-1";
    public string AccountId { get; set; } = "000000000000";
}

/// <summary>A region and an account id as AWS spells them.</summary>
internal sealed partial class AccountOptionsValidator : IValidateOptions<AccountOptions>
{
    [GeneratedRegex(@"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Region();

    [GeneratedRegex(@"^\d{12}\z", RegexOptions.CultureInvariant)]
    private static partial Regex AccountId();

    public ValidateOptionsResult Validate(string? name, AccountOptions options)
    {
        var problems = new List<string>();
        if (!Region().IsMatch(options.Region))
        {
            problems.Add($"Account:Region {options.Region}: must be a region name such as us-east-1");
        }

        if (!AccountId().IsMatch(options.AccountId))
        {
            problems.Add($"Account:AccountId {options.AccountId}: must be 12 digits");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
