using Hayate.Lambda.EventSources;

namespace Hayate.Lambda.Tests;

public sealed class EventSourceMappingRulesTests
{
    private const string QueueArn = "arn:aws:sqs:us-east-1:000000000000:q";
    private const string StreamArn = "arn:aws:kinesis:us-east-1:000000000000:stream/s";

    private static EventSourceMapping New(string arn) => new()
    {
        Uuid = "u",
        EventSourceArn = arn,
        FunctionName = "f",
        Enabled = true,
        State = "Creating",
        BatchSize = 0,
        MaximumBatchingWindowInSeconds = 0,
        LastModified = DateTimeOffset.UnixEpoch,
    };

    private static EventSourceMapping Created(string arn, EventSourceSettings settings, bool fifo = false)
    {
        var result = EventSourceMappingRules.Apply(New(arn), creating: true, settings, fifo);
        Assert.True(result.Ok, result.Error?.Message);
        return result.Value;
    }

    private static string Refused(string arn, EventSourceSettings settings, bool fifo = false, EventSourceMapping? current = null)
    {
        var result = EventSourceMappingRules.Apply(current ?? New(arn), creating: current is null, settings, fifo);
        Assert.False(result.Ok);
        Assert.Equal(400, result.Error.Status);
        return result.Error.Type;
    }

    [Fact]
    public void Sqs_Defaults_AreLambdas_AndStreamOnlyMembersStayUnset()
    {
        var mapping = Created(QueueArn, new EventSourceSettings());
        Assert.Equal(10, mapping.BatchSize);
        Assert.Equal(0, mapping.MaximumBatchingWindowInSeconds);
        Assert.True(mapping.Enabled);
        Assert.Null(mapping.StartingPosition);
        Assert.Null(mapping.MaximumRetryAttempts);
        Assert.Null(mapping.ParallelizationFactor);
    }

    [Fact]
    public void Sqs_RefusesWhatLambdaRefuses()
    {
        Assert.Equal("InvalidParameterValueException", Refused(QueueArn, new() { StartingPosition = "LATEST" }));
        Assert.Equal("InvalidParameterValueException", Refused(QueueArn, new() { MaximumRetryAttempts = 1 }));
        Assert.Equal("InvalidParameterValueException", Refused(QueueArn, new() { BatchSize = 11 }));
        Assert.Equal("InvalidParameterValueException", Refused(QueueArn, new() { BatchSize = 10, MaximumBatchingWindowInSeconds = 1 }, fifo: true));
        Assert.Equal("InvalidParameterValueException", Refused(QueueArn, new() { BatchSize = 20, MaximumBatchingWindowInSeconds = 1 }, fifo: true));
        Assert.Equal("ValidationException", Refused(QueueArn, new() { BatchSize = 0 }));
        Assert.Equal("ValidationException", Refused(QueueArn, new() { BatchSize = 10_001 }));
        Assert.Equal("ValidationException", Refused(QueueArn, new() { MaximumBatchingWindowInSeconds = 301 }));
        Assert.Equal("ValidationException", Refused(QueueArn, new() { MaximumConcurrency = 1, ScalingConfigGiven = true }));
        Assert.Equal("ValidationException", Refused(QueueArn, new() { FunctionResponseTypes = ["Everything"] }));
        Assert.Equal(20, Created(QueueArn, new() { BatchSize = 20, MaximumBatchingWindowInSeconds = 1 }).BatchSize);
    }

    [Fact]
    public void Sqs_Update_KeepsWhatIsNotGiven_AndChecksTheResult()
    {
        var mapping = Created(QueueArn, new() { BatchSize = 50, MaximumBatchingWindowInSeconds = 5, MaximumConcurrency = 4, ScalingConfigGiven = true });
        var updated = EventSourceMappingRules.Apply(mapping, creating: false, new() { Enabled = false }, fifo: false);
        Assert.True(updated.Ok);
        Assert.Equal((50, 5, 4, false), (updated.Value.BatchSize, updated.Value.MaximumBatchingWindowInSeconds, updated.Value.MaximumConcurrency, updated.Value.Enabled));

        // The window cannot go to 0 under a batch size above 10.
        Assert.Equal("InvalidParameterValueException", Refused(QueueArn, new() { MaximumBatchingWindowInSeconds = 0 }, current: mapping));
    }

    [Fact]
    public void Kinesis_Defaults_AreLambdas()
    {
        var mapping = Created(StreamArn, new() { StartingPosition = "TRIM_HORIZON" });
        Assert.Equal((100, -1, -1, 1, false), (mapping.BatchSize, mapping.MaximumRetryAttempts, mapping.MaximumRecordAgeInSeconds, mapping.ParallelizationFactor, mapping.BisectBatchOnFunctionError));
        Assert.Equal("TRIM_HORIZON", mapping.StartingPosition);
        Assert.Null(mapping.MaximumConcurrency);
    }

    [Fact]
    public void Kinesis_RefusesWhatLambdaRefuses_AndWhatHayateCannotHonour()
    {
        Assert.Equal("InvalidParameterValueException", Refused(StreamArn, new()));
        Assert.Equal("InvalidParameterValueException", Refused(StreamArn, new() { StartingPosition = "AT_TIMESTAMP" }));
        Assert.Equal("InvalidParameterValueException", Refused(StreamArn, new() { StartingPosition = "LATEST", StartingPositionTimestamp = DateTimeOffset.UnixEpoch }));
        Assert.Equal("ValidationException", Refused(StreamArn, new() { StartingPosition = "EARLIEST" }));
        Assert.Equal("InvalidParameterValueException", Refused(StreamArn, new() { StartingPosition = "LATEST", MaximumRecordAgeInSeconds = 59 }));
        Assert.Equal("ValidationException", Refused(StreamArn, new() { StartingPosition = "LATEST", MaximumRetryAttempts = -2 }));
        Assert.Equal("ValidationException", Refused(StreamArn, new() { StartingPosition = "LATEST", ParallelizationFactor = 11 }));
        Assert.Equal("InvalidParameterValueException", Refused(StreamArn, new() { StartingPosition = "LATEST", ParallelizationFactor = 2 }));
        Assert.Equal("InvalidParameterValueException", Refused(StreamArn, new() { StartingPosition = "LATEST", MaximumConcurrency = 5, ScalingConfigGiven = true }));
        Assert.Equal("InvalidParameterValueException", Refused(StreamArn, new() { StartingPosition = "LATEST", TumblingWindowInSeconds = 30 }));
        Assert.Equal("InvalidParameterValueException", Refused(StreamArn, new() { StartingPosition = "LATEST", OnFailure = "arn:aws:sns:us-east-1:000000000000:t" }));
        Assert.Equal(60, Created(StreamArn, new() { StartingPosition = "LATEST", MaximumRecordAgeInSeconds = 60 }).MaximumRecordAgeInSeconds);
    }

    [Fact]
    public void Kinesis_Update_KeepsTheStartingPosition_AndCanClearTheDestination()
    {
        var mapping = Created(StreamArn, new() { StartingPosition = "LATEST", OnFailure = QueueArn, MaximumRetryAttempts = 3 });
        var updated = EventSourceMappingRules.Apply(mapping, creating: false, new() { OnFailure = "", BatchSize = 7 }, fifo: false);
        Assert.True(updated.Ok);
        Assert.Equal(("LATEST", (string?)null, 3, 7), (updated.Value.StartingPosition, updated.Value.OnFailure, updated.Value.MaximumRetryAttempts, updated.Value.BatchSize));
    }

    [Theory]
    [InlineData(QueueArn, EventSourceKind.Sqs, "q")]
    [InlineData(StreamArn, EventSourceKind.Kinesis, "s")]
    [InlineData("arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2024", null, "table/t/stream/2024")]
    public void Arns_NameTheirKindAndSource(string arn, EventSourceKind? kind, string name)
    {
        Assert.Equal(kind, EventSourceArns.KindOf(arn));
        Assert.Equal(name, EventSourceArns.NameOf(arn));
    }
}
