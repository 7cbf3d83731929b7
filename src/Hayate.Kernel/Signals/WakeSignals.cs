using System.Collections.Concurrent;

namespace Hayate.Kernel.Signals;

/// <summary>
/// Wake-ups by name (a queue's, a stream's): <see cref="Next"/> is a task that completes at the next
/// <see cref="Wake"/> of that name. Take the task before looking for work, so that work arriving
/// between the look and the wait still wakes the waiter.
/// </summary>
public sealed class WakeSignals
{
    private readonly ConcurrentDictionary<string, Signal> _signals = new(StringComparer.Ordinal);

    public Task Next(string name) => _signals.GetOrAdd(name, _ => new Signal()).Current.Task;

    public void Wake(string name)
    {
        if (_signals.TryGetValue(name, out var signal))
        {
            signal.Fire();
        }
    }

    private sealed class Signal
    {
        private TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Current => Volatile.Read(ref _current);

        public void Fire() =>
            Interlocked.Exchange(ref _current, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
