using System.Collections.Concurrent;
using System.Diagnostics;

namespace Hayate.Sandboxes.Isolation;

/// <summary>
/// Starts every sandbox process from one long-lived thread. bubblewrap's --die-with-parent (a
/// parent-death signal) fires when the *thread* that forked it exits, and the thread pool retires
/// idle workers after ~20 s: a sandbox started from a pool thread was killed with it, warm or not.
/// One thread also serialises the moments when descriptors are inheritable.
/// </summary>
internal static class SpawnThread
{
    private static readonly BlockingCollection<(Func<Process> Start, TaskCompletionSource<Process> Done)> Queue = new();

    static SpawnThread()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "hayate-spawn" };
        thread.Start();
    }

    /// <summary>Runs <paramref name="start"/> (which calls Process.Start) on the spawning thread.</summary>
    public static Task<Process> StartAsync(Func<Process> start)
    {
        var done = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Queue.Add((start, done));
        return done.Task;
    }

    private static void Run()
    {
        foreach (var (start, done) in Queue.GetConsumingEnumerable())
        {
            try
            {
                done.TrySetResult(start());
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        }
    }
}
