using System.Text;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Invoking;
using Hayate.Sqs;

namespace Hayate.Lambda.Tests;

/// <summary>
/// Asynchronous invocation's retry schedule, on a clock the test moves: one rule whether the
/// function failed or Hayate did, and the dead-letter queue after the last attempt.
/// </summary>
public sealed class AsyncEventQueueTests
{
    private static readonly TimeSpan First = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(1, 60)]
    [InlineData(2, 120)]
    [InlineData(3, 240)]
    [InlineData(4, 480)]
    public void RetryPolicy_Delay_DoublesFromTheFirstRetryDelay(int attempts, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), RetryPolicy.Delay(First, attempts));

    [Fact]
    public void RetryPolicy_GivesUp_AfterTheLastRetry_OrWhenTheNextWouldBeTooOld()
    {
        Assert.Null(RetryPolicy.GivesUp(2, 2, TimeSpan.FromMinutes(1), First, TimeSpan.FromHours(6)));
        Assert.Equal("RetriesExhausted", RetryPolicy.GivesUp(3, 2, TimeSpan.FromMinutes(1), First, TimeSpan.FromHours(6)));
        Assert.Equal("EventAgeExceeded", RetryPolicy.GivesUp(1, 2, TimeSpan.FromSeconds(61), First, TimeSpan.FromMinutes(2)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Event_ThatFailsEveryTime_RunsAgainAfter60sThen120s_ThenGoesToTheDeadLetterQueue(bool hayateFails)
    {
        await using var host = await LambdaHost.StartAsync(settings: new Dictionary<string, string?> { ["Lambda:Async:FirstRetryDelay"] = "00:01:00" });
        host.Sandboxes.Answer(hayateFails ? StandInSandboxes.Throw : StandInSandboxes.Fail);
        var queues = host.Get<QueueService>();
        Assert.True((await queues.CreateQueueAsync("dlq", null, CancellationToken.None)).Ok);
        await host.CreateFunctionAsync("fails");
        var dlqArn = $"arn:aws:sqs:us-east-1:000000000000:dlq";
        Assert.True((await host.Get<FunctionManager>().UpdateConfigurationAsync(new FunctionRef("fails", null), new FunctionSettings { DeadLetterTargetArn = dlqArn }, null, CancellationToken.None)).Ok);

        var accepted = await host.Get<Invoker>().InvokeAsync(new InvokeCall(new FunctionRef("fails", null), InvocationType.Event, Encoding.UTF8.GetBytes("{\"n\":1}"), false, null), CancellationToken.None);
        Assert.Equal(202, accepted.Value!.StatusCode);
        await WaitForAttemptsAsync(host, 1);

        host.Clock.Advance(First - TimeSpan.FromSeconds(1));
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.Single(host.Sandboxes.Calls);
        host.Clock.Advance(TimeSpan.FromSeconds(1));
        await LambdaHost.WaitUntilAsync(() => host.Sandboxes.Calls.Count == 2, "the first retry runs after 60 s");
        await WaitForAttemptsAsync(host, 2);

        host.Clock.Advance(2 * First - TimeSpan.FromSeconds(1));
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.Equal(2, host.Sandboxes.Calls.Count);
        host.Clock.Advance(TimeSpan.FromSeconds(1));
        await LambdaHost.WaitUntilAsync(() => host.Sandboxes.Calls.Count == 3, "the second retry runs 120 s later");

        await LambdaHost.WaitUntilAsync(() => host.Get<AsyncEventQueue>().Pending == 0, "the event leaves the queue");
        var dead = await queues.ReceiveAsync("dlq", new QueueReceiveOptions { MaxMessages = 10 });
        Assert.Equal("{\"n\":1}", Assert.Single(dead.Value!).Body);
        host.Clock.Advance(TimeSpan.FromHours(1));
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.Equal(3, host.Sandboxes.Calls.Count);
        if (hayateFails)
        {
            Assert.Contains(host.Logs.Entries, e => e.Exception is IOException);
        }
    }

    /// <summary>Until the journal holds the event's n-th failed attempt: its retry is scheduled by then, so moving the clock reaches it.</summary>
    private static async Task WaitForAttemptsAsync(LambdaHost host, int attempts)
    {
        var store = host.Get<IAsyncEventStore>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while ((await store.LoadAllAsync(CancellationToken.None)).SingleOrDefault()?.Attempts != attempts)
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for attempt {attempts} to be journaled");
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Event_ThatFailsOnce_SucceedsOnTheRetry_AndKeepsItsRequestId()
    {
        await using var host = await LambdaHost.StartAsync(settings: new Dictionary<string, string?> { ["Lambda:Async:FirstRetryDelay"] = "00:01:00" });
        host.Sandboxes.Answer(StandInSandboxes.Fail, StandInSandboxes.Succeed);
        await host.CreateFunctionAsync("flaky");

        var call = new InvokeCall(new FunctionRef("flaky", null), InvocationType.Event, "{}"u8.ToArray(), false, null);
        await host.Get<Invoker>().InvokeAsync(call, CancellationToken.None);
        await WaitForAttemptsAsync(host, 1);
        host.Clock.Advance(First);
        await LambdaHost.WaitUntilAsync(() => host.Get<AsyncEventQueue>().Pending == 0, "the retry succeeds");

        Assert.Equal([call.RequestId, call.RequestId], host.Sandboxes.Calls.Select(c => c.Invocation.RequestId));
    }
}
