using Hayate.Kernel.Errors;
using Hayate.Lambda.Functions;

namespace Hayate.Lambda.Tests;

public sealed class FunctionValidatorTests
{
    private static readonly FunctionSettings Valid = new()
    {
        Runtime = "python3.12",
        Handler = "app.handler",
        Role = "arn:aws:iam::000000000000:role/test",
        Description = "fine",
        MemorySize = 128,
        Timeout = 3,
        EphemeralStorageSize = 512,
        Environment = new Dictionary<string, string> { ["MY_SETTING"] = "x" },
    };

    private static AwsError AssertRefused(FunctionSettings settings, string type, bool creating = true)
    {
        var error = FunctionValidator.Validate(settings, creating);
        Assert.NotNull(error);
        Assert.Equal(type, error.Type);
        Assert.Equal(400, error.Status);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        return error;
    }

    [Fact]
    public void Validate_CompleteValidSettings_IsAccepted()
    {
        Assert.Null(FunctionValidator.Validate(Valid, creating: true));
        Assert.Null(FunctionValidator.Validate(Valid, creating: false));
    }

    [Fact]
    public void Validate_UpdateWithNothingGiven_IsAccepted()
    {
        Assert.Null(FunctionValidator.Validate(new FunctionSettings(), creating: false));
    }

    [Theory]
    [InlineData("python3.9")]
    [InlineData("python3.14")]
    [InlineData("nodejs18.x")]
    [InlineData("nodejs24.x")]
    [InlineData("provided")]
    [InlineData("provided.al2")]
    [InlineData("provided.al2023")]
    public void Validate_SupportedRuntime_IsAccepted(string runtime)
    {
        Assert.Null(FunctionValidator.Validate(Valid with { Runtime = runtime }, creating: true));
    }

    [Theory]
    [InlineData("java21")]
    [InlineData("cobol")]
    [InlineData("python2.7")]
    [InlineData("Python3.12")]
    [InlineData("")]
    public void Validate_UnsupportedRuntime_IsInvalidParameterNamingIt(string runtime)
    {
        var error = AssertRefused(Valid with { Runtime = runtime }, "InvalidParameterValueException");
        Assert.Contains($"runtime parameter of {runtime} is not supported", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "app.handler")]
    [InlineData("python3.12", null)]
    [InlineData(null, null)]
    public void Validate_CreateWithoutRuntimeOrHandler_IsInvalidParameter(string? runtime, string? handler)
    {
        var error = AssertRefused(Valid with { Runtime = runtime, Handler = handler }, "InvalidParameterValueException");
        Assert.Contains("Runtime and Handler are mandatory", error.Message, StringComparison.Ordinal);
        // Updating does not require them.
        Assert.Null(FunctionValidator.Validate(Valid with { Runtime = runtime, Handler = handler }, creating: false));
    }

    [Theory]
    [InlineData("has space.handler")]
    [InlineData("tab\there")]
    [InlineData("app.handler\n")]
    [InlineData("")]
    public void Validate_HandlerBreakingPattern_IsValidation(string handler)
    {
        var error = AssertRefused(Valid with { Handler = handler }, "ValidationException");
        Assert.Contains("'handler'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_HandlerLength_128AcceptedAnd129Refused()
    {
        Assert.Null(FunctionValidator.Validate(Valid with { Handler = new string('h', 128) }, creating: true));
        var error = AssertRefused(Valid with { Handler = new string('h', 129) }, "ValidationException");
        Assert.Contains("128", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not-a-role")]
    [InlineData("arn:aws:iam::123:role/short-account")]
    [InlineData("arn:aws:s3:::bucket")]
    [InlineData("")]
    [InlineData("arn:aws:iam::000000000000:role/x\n")]
    public void Validate_RoleBreakingPattern_IsValidation(string role)
    {
        var error = AssertRefused(Valid with { Role = role }, "ValidationException");
        Assert.Contains("'role'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("arn:aws:iam::123456789012:role/service-role/my_role+=,.@-")]
    [InlineData("arn:aws-cn:iam::123456789012:role/x")]
    public void Validate_RoleMatchingPattern_IsAccepted(string role)
    {
        Assert.Null(FunctionValidator.Validate(Valid with { Role = role }, creating: true));
    }

    [Fact]
    public void Validate_Description_256AcceptedAnd257Refused()
    {
        Assert.Null(FunctionValidator.Validate(Valid with { Description = new string('d', 256) }, creating: true));
        AssertRefused(Valid with { Description = new string('d', 257) }, "ValidationException");
    }

    [Theory]
    [InlineData(128)]
    [InlineData(129)]
    [InlineData(10240)]
    public void Validate_MemoryInRange_IsAccepted(int memory)
    {
        Assert.Null(FunctionValidator.Validate(Valid with { MemorySize = memory }, creating: true));
    }

    [Theory]
    [InlineData(64)]
    [InlineData(127)]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(10241)]
    [InlineData(20000)]
    public void Validate_MemoryOutOfRange_IsRefusedNamingMemorySize(int memory)
    {
        var error = FunctionValidator.Validate(Valid with { MemorySize = memory }, creating: true);
        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.True(error.Type is "ValidationException" or "InvalidParameterValueException", error.Type);
        Assert.Contains("emorySize", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(900)]
    public void Validate_TimeoutAtBounds_IsAccepted(int timeout)
    {
        Assert.Null(FunctionValidator.Validate(Valid with { Timeout = timeout }, creating: true));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(901)]
    [InlineData(3600)]
    public void Validate_TimeoutOutOfRange_IsRefusedNamingTimeout(int timeout)
    {
        var error = FunctionValidator.Validate(Valid with { Timeout = timeout }, creating: true);
        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.True(error.Type is "ValidationException" or "InvalidParameterValueException", error.Type);
        Assert.Contains("imeout", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(512, true)]
    [InlineData(10240, true)]
    [InlineData(511, false)]
    [InlineData(0, false)]
    [InlineData(10241, false)]
    public void Validate_EphemeralStorage_RangeIs512To10240(int size, bool accepted)
    {
        var error = FunctionValidator.Validate(Valid with { EphemeralStorageSize = size }, creating: true);
        if (accepted)
        {
            Assert.Null(error);
        }
        else
        {
            Assert.NotNull(error);
            Assert.Equal("ValidationException", error.Type);
            Assert.Contains("ephemeralStorage", error.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("AWS_REGION")]
    [InlineData("AWS_DEFAULT_REGION")]
    [InlineData("AWS_LAMBDA_FUNCTION_NAME")]
    [InlineData("AWS_ACCESS_KEY_ID")]
    [InlineData("AWS_SECRET_ACCESS_KEY")]
    [InlineData("AWS_SESSION_TOKEN")]
    [InlineData("AWS_LAMBDA_RUNTIME_API")]
    [InlineData("LAMBDA_TASK_ROOT")]
    public void Validate_ReservedVariable_IsInvalidParameterNamingIt(string key)
    {
        var environment = new Dictionary<string, string> { ["FINE"] = "1", [key] = "x" };
        var error = FunctionValidator.Validate(Valid with { Environment = environment }, creating: false);
        Assert.NotNull(error);
        Assert.Equal(400, error.Status);
        Assert.Equal("InvalidParameterValueException", error.Type);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
        Assert.Contains("reserved", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("FINE", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1STARTS_WITH_DIGIT")]
    [InlineData("has-dash")]
    [InlineData("has space")]
    [InlineData("A")]
    [InlineData("")]
    [InlineData("TRAILING_NEWLINE\n")]
    public void Validate_VariableNameBreakingPattern_IsValidation(string key)
    {
        var error = AssertRefused(Valid with { Environment = new Dictionary<string, string> { [key] = "v" } }, "ValidationException");
        Assert.Contains("environment.variables", error.Message, StringComparison.Ordinal);
        // Values are sensitive: never echoed.
        Assert.DoesNotContain("'v'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EnvironmentOver4KB_IsInvalidParameter()
    {
        var justFits = new Dictionary<string, string> { ["BIG"] = new string('v', 4096 - 3) };
        Assert.Null(FunctionValidator.Validate(Valid with { Environment = justFits }, creating: true));
        var tooBig = new Dictionary<string, string> { ["BIG"] = new string('v', 4096 - 2) };
        var error = AssertRefused(Valid with { Environment = tooBig }, "InvalidParameterValueException");
        Assert.Contains("4KB", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EmptyEnvironment_IsAccepted()
    {
        Assert.Null(FunctionValidator.Validate(Valid with { Environment = new Dictionary<string, string>() }, creating: false));
    }
}
