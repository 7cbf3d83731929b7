namespace Hayate.Kernel.Accounts;

/// <summary>Where the account lives: region and account id used in every ARN.</summary>
public sealed record AccountOptions
{
    public string Region { get; init; } = "us-east-1";
    public string AccountId { get; init; } = "000000000000";
}
