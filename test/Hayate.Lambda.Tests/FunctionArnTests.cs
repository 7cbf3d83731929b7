using Hayate.Lambda.Functions;

namespace Hayate.Lambda.Tests;

public sealed class FunctionArnTests
{
    [Theory]
    [InlineData("my-function", "my-function", null)]
    [InlineData("my_function_2", "my_function_2", null)]
    [InlineData("my-function:$LATEST", "my-function", "$LATEST")]
    [InlineData("my-function:live", "my-function", "live")]
    [InlineData("my-function:7", "my-function", "7")]
    [InlineData("000000000000:function:my-function", "my-function", null)]
    [InlineData("000000000000:function:my-function:prod", "my-function", "prod")]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:my-function", "my-function", null)]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:my-function:$LATEST", "my-function", "$LATEST")]
    [InlineData("arn:aws:lambda:eu-west-2:123456789012:function:fn:v1", "fn", "v1")]
    [InlineData("arn:aws-cn:lambda:cn-north-1:123456789012:function:fn", "fn", null)]
    [InlineData("arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:fn", "fn", null)]
    public void TryParse_AcceptedForms_YieldNameAndQualifier(string value, string name, string? qualifier)
    {
        Assert.True(FunctionArn.TryParse(value, out var reference), value);
        Assert.Equal(name, reference.Name);
        Assert.Equal(qualifier, reference.Qualifier);
    }

    [Fact]
    public void TryParse_SixtyFourCharacterName_IsAccepted()
    {
        var name = new string('a', 64);
        Assert.True(FunctionArn.TryParse(name, out var reference));
        Assert.Equal(name, reference.Name);
        Assert.True(FunctionArn.TryParse($"arn:aws:lambda:us-east-1:000000000000:function:{name}", out var fromArn));
        Assert.Equal(name, fromArn.Name);
    }

    [Fact]
    public void TryParse_SixtyFiveCharacterName_IsRefused()
    {
        var name = new string('a', 65);
        Assert.False(FunctionArn.TryParse(name, out _));
        Assert.False(FunctionArn.TryParse($"arn:aws:lambda:us-east-1:000000000000:function:{name}", out _));
        Assert.False(FunctionArn.TryParse($"000000000000:function:{name}", out _));
    }

    [Theory]
    [InlineData("")]
    [InlineData("bad name!")]
    [InlineData("has space")]
    [InlineData("slash/name")]
    [InlineData("name:")]
    [InlineData("name:qual:extra")]
    [InlineData("name:bad qualifier")]
    [InlineData("arn:aws:lambda:us-east-1:000000000000:function:")]
    [InlineData("arn:aws:s3:::bucket")]
    [InlineData("12345:function:name")]
    [InlineData("dot.name")]
    [InlineData("ünïcode")]
    [InlineData("name\n")]
    public void TryParse_InvalidInput_IsRefused(string value)
    {
        Assert.False(FunctionArn.TryParse(value, out _), $"'{value}' was accepted");
    }

    [Fact]
    public void TryParse_LongerThan256Characters_IsRefused()
    {
        Assert.False(FunctionArn.TryParse("arn:aws:lambda:us-east-1:000000000000:function:" + new string('a', 250), out _));
    }

    [Fact]
    public void For_BuildsTheFullArnWithAndWithoutQualifier()
    {
        Assert.Equal("arn:aws:lambda:us-east-1:000000000000:function:fn", FunctionArn.For("us-east-1", "000000000000", "fn"));
        Assert.Equal("arn:aws:lambda:eu-west-1:123456789012:function:fn:live", FunctionArn.For("eu-west-1", "123456789012", "fn", "live"));
    }

    [Fact]
    public void For_ThenTryParse_RoundTrips()
    {
        var arn = FunctionArn.For("ap-southeast-2", "123456789012", "round-trip_1", "$LATEST");
        Assert.True(FunctionArn.TryParse(arn, out var reference));
        Assert.Equal(new FunctionRef("round-trip_1", "$LATEST") { Region = "ap-southeast-2", Account = "123456789012" }, reference);
    }

    [Theory]
    [InlineData("ok", true)]
    [InlineData("a-b_c-9", true)]
    [InlineData("", false)]
    [InlineData("has:colon", false)]
    [InlineData("bad name", false)]
    public void IsValidPlainName_FollowsTheNamePattern(string name, bool valid)
    {
        Assert.Equal(valid, FunctionArn.IsValidPlainName(name));
    }

    [Fact]
    public void IsValidPlainName_SixtyFiveCharacters_IsFalse()
    {
        Assert.True(FunctionArn.IsValidPlainName(new string('x', 64)));
        Assert.False(FunctionArn.IsValidPlainName(new string('x', 65)));
    }
}
