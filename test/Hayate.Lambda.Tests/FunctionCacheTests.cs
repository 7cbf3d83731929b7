using Hayate.Lambda.Functions;
using Hayate.Lambda.Invoking;

namespace Hayate.Lambda.Tests;

/// <summary>The invoke path's read cache against deletes and updates that race the reads filling it.</summary>
public sealed class FunctionCacheTests
{
    /// <summary>
    /// A read that loads a function while it is being deleted must not put it back into the cache,
    /// or warm invokes of a deleted function keep succeeding. The window is a few instructions
    /// wide, so this runs the race many times, each with a cold cache, from two threads.
    /// </summary>
    [Fact]
    public async Task ResolveForInvoke_RacingDelete_NeverLeavesTheDeletedFunctionCached()
    {
        await using var host = await LambdaHost.StartAsync();
        var manager = host.Get<FunctionManager>();
        for (var round = 0; round < 200; round++)
        {
            var name = "race-" + round;
            await host.CreateFunctionAsync(name);
            // An update drops the cached $LATEST: the next read loads it from the store.
            Assert.True((await manager.UpdateConfigurationAsync(new FunctionRef(name, null), new FunctionSettings { Description = "cold" }, null, CancellationToken.None)).Ok);
            var reference = new FunctionRef(name, null);
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var reading = Task.Run(async () =>
            {
                await go.Task;
                for (var i = 0; i < 20; i++)
                {
                    await manager.ResolveForInvokeAsync(reference, CancellationToken.None);
                }
            });
            var deleting = Task.Run(async () =>
            {
                await go.Task;
                return await manager.DeleteAsync(reference, CancellationToken.None);
            });
            go.SetResult();
            await Task.WhenAll(reading, deleting);

            Assert.Null(await deleting);
            var after = await manager.ResolveForInvokeAsync(reference, CancellationToken.None);
            Assert.True(after.Error?.Type == "ResourceNotFoundException", $"round {round}: a deleted function still resolves from the cache");
        }
    }

    [Fact]
    public async Task Invoke_AfterUpdate_RunsTheNewConfiguration()
    {
        await using var host = await LambdaHost.StartAsync();
        await host.CreateFunctionAsync("changing");
        var reference = new FunctionRef("changing", null);
        var invoker = host.Get<Invoker>();
        await invoker.InvokeAsync(new InvokeCall(reference, InvocationType.RequestResponse, "{}"u8.ToArray(), false, null), CancellationToken.None);

        Assert.True((await host.Get<FunctionManager>().UpdateConfigurationAsync(reference, new FunctionSettings { MemorySize = 512 }, null, CancellationToken.None)).Ok);
        await invoker.InvokeAsync(new InvokeCall(reference, InvocationType.RequestResponse, "{}"u8.ToArray(), false, null), CancellationToken.None);

        Assert.Equal([128, 512], host.Sandboxes.Calls.Select(c => c.Spec.MemorySize));
    }
}
