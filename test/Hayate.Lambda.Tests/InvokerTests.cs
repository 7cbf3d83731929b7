using System.Text;
using Hayate.Lambda.Concurrency;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Invoking;

namespace Hayate.Lambda.Tests;

/// <summary>The invoker's answers for each kind of call, without a process behind the sandbox.</summary>
public sealed class InvokerTests
{
    private static InvokeCall Call(string name, InvocationType type = InvocationType.RequestResponse, string payload = "{\"k\":1}", bool tail = false) =>
        new(new FunctionRef(name, null), type, Encoding.UTF8.GetBytes(payload), tail, null);

    [Fact]
    public async Task Invoke_Success_Answers200WithThePayloadAndALogTailOfStartEndReport()
    {
        await using var host = await LambdaHost.StartAsync();
        await host.CreateFunctionAsync("ok");
        var call = Call("ok", tail: true);

        var outcome = (await host.Get<Invoker>().InvokeAsync(call, CancellationToken.None)).Value!;

        Assert.Equal(200, outcome.StatusCode);
        Assert.Equal("{\"k\":1}", Encoding.UTF8.GetString(outcome.Payload.Span));
        Assert.Null(outcome.FunctionError);
        Assert.Equal("$LATEST", outcome.ExecutedVersion);
        var log = Encoding.UTF8.GetString(Convert.FromBase64String(outcome.LogResult!));
        Assert.Contains($"START RequestId: {call.RequestId} Version: $LATEST", log, StringComparison.Ordinal);
        Assert.Contains($"END RequestId: {call.RequestId}", log, StringComparison.Ordinal);
        Assert.Contains($"REPORT RequestId: {call.RequestId}\tDuration: ", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invoke_FunctionError_Answers200WithUnhandled()
    {
        await using var host = await LambdaHost.StartAsync();
        host.Sandboxes.Answer(StandInSandboxes.Fail);
        await host.CreateFunctionAsync("fails");

        var outcome = (await host.Get<Invoker>().InvokeAsync(Call("fails"), CancellationToken.None)).Value!;

        Assert.Equal(200, outcome.StatusCode);
        Assert.Equal("Unhandled", outcome.FunctionError);
        Assert.Contains("boom", Encoding.UTF8.GetString(outcome.Payload.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invoke_DryRun_Answers204AndRunsNothing()
    {
        await using var host = await LambdaHost.StartAsync();
        await host.CreateFunctionAsync("dry");

        var outcome = (await host.Get<Invoker>().InvokeAsync(Call("dry", InvocationType.DryRun), CancellationToken.None)).Value!;

        Assert.Equal(204, outcome.StatusCode);
        Assert.Empty(host.Sandboxes.Calls);
    }

    [Fact]
    public async Task Invoke_ReservedConcurrencyZero_IsThrottledWithTheReservationsReason()
    {
        await using var host = await LambdaHost.StartAsync();
        await host.CreateFunctionAsync("stopped");
        Assert.True((await host.Get<FunctionConcurrency>().PutReservedAsync(new FunctionRef("stopped", null), 0, CancellationToken.None)).Ok);

        var refused = await host.Get<Invoker>().InvokeAsync(Call("stopped"), CancellationToken.None);

        Assert.Equal("TooManyRequestsException", refused.Error?.Type);
        Assert.Equal("ReservedFunctionConcurrentInvocationLimitExceeded", refused.Error?.Reason);
        Assert.Empty(host.Sandboxes.Calls);
    }

    [Theory]
    [InlineData("not json", "InvalidRequestContentException")]
    [InlineData("", null)]
    public async Task Invoke_Payload_MustBeJsonAndEmptyIsAnEmptyObject(string payload, string? error)
    {
        await using var host = await LambdaHost.StartAsync();
        await host.CreateFunctionAsync("json");

        var outcome = await host.Get<Invoker>().InvokeAsync(Call("json", payload: payload), CancellationToken.None);

        Assert.Equal(error, outcome.Error?.Type);
        if (error is null)
        {
            Assert.Equal("{}", Encoding.UTF8.GetString(Assert.Single(host.Sandboxes.Calls).Invocation.Payload.Span));
        }
    }

    [Fact]
    public async Task Invoke_EventPayloadOver256KB_IsRefusedWith413()
    {
        await using var host = await LambdaHost.StartAsync();
        await host.CreateFunctionAsync("big");

        var refused = await host.Get<Invoker>().InvokeAsync(Call("big", InvocationType.Event, "\"" + new string('x', 256 * 1024) + "\""), CancellationToken.None);

        Assert.Equal("RequestTooLargeException", refused.Error?.Type);
        Assert.Equal(413, refused.Error?.Status);
    }
}
