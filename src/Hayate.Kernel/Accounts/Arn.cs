namespace Hayate.Kernel.Accounts;

/// <summary>
/// An Amazon Resource Name: arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE. The resource part is
/// the service's own (function:NAME, key/ID, stream/NAME, a queue's NAME).
/// </summary>
public readonly record struct Arn(string Partition, string Service, string Region, string Account, string Resource)
{
    public override string ToString() => $"arn:{Partition}:{Service}:{Region}:{Account}:{Resource}";

    /// <summary>Splits an ARN into its parts; false when it is not one (fewer than six parts, or not "arn:").</summary>
    public static bool TryParse(string? value, out Arn arn)
    {
        arn = default;
        var parts = value?.Split(':', 6);
        if (parts is not { Length: 6 } || parts[0] != "arn" || parts[1].Length == 0 || parts[2].Length == 0)
        {
            return false;
        }

        arn = new Arn(parts[1], parts[2], parts[3], parts[4], parts[5]);
        return true;
    }
}

/// <summary>ARNs of this server's account and region.</summary>
public static class AccountArns
{
    /// <summary>The ARN of <paramref name="resource"/> of <paramref name="service"/> in this account and region.</summary>
    public static string ArnFor(this AccountOptions account, string service, string resource) =>
        new Arn("aws", service, account.Region, account.AccountId, resource).ToString();
}
