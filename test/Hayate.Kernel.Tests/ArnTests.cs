using Hayate.Kernel.Accounts;

namespace Hayate.Kernel.Tests;

public sealed class ArnTests
{
    [Theory]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:f:live", "lambda", "us-east-1", "000000000000", "function:f:live")]
    [InlineData("arn:aws:sqs:eu-west-1:123456789012:orders.fifo", "sqs", "eu-west-1", "123456789012", "orders.fifo")]
    [InlineData("arn:aws:iam::000000000000:role/x", "iam", "", "000000000000", "role/x")]
    public void TryParse_SplitsTheParts_AndToStringGivesTheSameText(string text, string service, string region, string account, string resource)
    {
        Assert.True(Arn.TryParse(text, out var arn));
        Assert.Equal((service, region, account, resource), (arn.Service, arn.Region, arn.Account, arn.Resource));
        Assert.Equal(text, arn.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("my-function")]
    [InlineData("arn:aws:sqs:us-east-1:000000000000")]
    [InlineData("urn:aws:sqs:us-east-1:000000000000:q")]
    public void TryParse_NotAnArn_IsFalse(string? text) => Assert.False(Arn.TryParse(text, out _));

    [Fact]
    public void ArnFor_UsesTheAccountsRegionAndId() =>
        Assert.Equal("arn:aws:kms:eu-north-1:111122223333:key/k", new AccountOptions { Region = "eu-north-1", AccountId = "111122223333" }.ArnFor("kms", "key/k"));
}
