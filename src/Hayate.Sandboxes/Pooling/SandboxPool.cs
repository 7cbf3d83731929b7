using System.Collections.Concurrent;
using Hayate.Sandboxes.Isolation;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Hayate.Sandboxes.Pooling;

/// <summary>
/// The Invocation layer's door to sandboxes: explicit messages (spec + invocation in, result out),
/// so that it can later become a network hop to a worker node.
/// </summary>
public interface ISandboxHost
{
    Task<SandboxResult> InvokeAsync(SandboxSpec spec, SandboxInvocation invocation, CancellationToken cancellationToken);

    /// <summary>
    /// Stops the function's sandboxes (only those of <paramref name="version"/> when given) whose
    /// identity is not <paramref name="keepIdentity"/>.
    /// </summary>
    Task RetireAsync(string functionName, string? version, string? keepIdentity);

    /// <summary>How many sandboxes are running, busy or idle.</summary>
    int Count { get; }

    /// <summary>
    /// Provisioned concurrency: keeps exactly the targets' counts of initialised sandboxes (starting
    /// the missing ones, releasing the extra ones to the idle reaper). Returns how many are up per identity.
    /// </summary>
    Task<IReadOnlyDictionary<string, ProvisionState>> ProvisionAsync(IReadOnlyCollection<ProvisionTarget> targets, CancellationToken cancellationToken);
}

/// <summary>Keep <see cref="Count"/> initialised sandboxes of <see cref="Spec"/>.</summary>
public sealed record ProvisionTarget(SandboxSpec Spec, int Count);

/// <summary>How many provisioned sandboxes of an identity are up, and why the last start failed, if one did.</summary>
public sealed record ProvisionState(int Available, string? Failure);

/// <summary>
/// Keeps warm sandboxes per function identity: an idle one is reused (init ran already), a busy
/// function scales out with more, idle ones are reaped after the idle timeout.
/// </summary>
public sealed partial class SandboxPool : BackgroundService, ISandboxHost
{
    private readonly ConcurrentDictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<IPooledSandbox, byte> _all = new();
    private readonly ISandboxLauncher _launcher;
    private readonly SandboxOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SandboxPool> _logger;

    public SandboxPool(ISandboxLauncher launcher, SandboxOptions options, TimeProvider time, ILogger<SandboxPool> logger)
    {
        _launcher = launcher;
        _options = options;
        _time = time;
        _logger = logger;
    }

    public int Count => _all.Count;

    public async Task<SandboxResult> InvokeAsync(SandboxSpec spec, SandboxInvocation invocation, CancellationToken cancellationToken)
    {
        var group = _groups.GetOrAdd(spec.Identity, static (_, s) => new Group(s.FunctionName, s.Version), spec);
        var sandbox = group.TakeIdle();
        if (sandbox is null)
        {
            sandbox = await _launcher.StartAsync(spec, provisioned: false, cancellationToken);
            _all[sandbox] = 0;
            LogStarted(_logger, sandbox.Id, spec.FunctionName);
        }

        try
        {
            var result = await sandbox.InvokeAsync(invocation, cancellationToken);
            if (result.InitDuration is { } init && _logger.IsEnabled(LogLevel.Debug))
            {
                var t = sandbox.LaunchTimings;
                LogColdStart(_logger, sandbox.Id, spec.FunctionName, init.TotalMilliseconds, t.Spawn, t.Namespaces, t.Setup);
            }
            // Checked under the group's lock: a sandbox returned to a retired group would never be reaped.
            if (sandbox.Alive && group.TryReturn(sandbox))
            {
                sandbox = null;
            }

            return result;
        }
        finally
        {
            if (sandbox is not null)
            {
                await StopAsync(sandbox);
            }
        }
    }

    public async Task RetireAsync(string functionName, string? version, string? keepIdentity)
    {
        foreach (var (identity, group) in _groups)
        {
            if (group.FunctionName != functionName || (version is not null && group.Version != version) || identity == keepIdentity)
            {
                continue;
            }

            _groups.TryRemove(identity, out _);
            foreach (var idle in group.Retire())
            {
                await StopAsync(idle);
            }
        }
    }

    public async Task<IReadOnlyDictionary<string, ProvisionState>> ProvisionAsync(IReadOnlyCollection<ProvisionTarget> targets, CancellationToken cancellationToken)
    {
        var wanted = targets.ToDictionary(t => t.Spec.Identity, t => t.Count, StringComparer.Ordinal);
        var up = _all.Keys.Where(s => s.Provisioned && s.Alive).GroupBy(s => s.Spec.Identity).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var (identity, sandboxes) in up)
        {
            // Beyond what is wanted: ordinary warm sandboxes again, reaped when idle.
            foreach (var extra in sandboxes.Skip(wanted.GetValueOrDefault(identity)))
            {
                extra.Provisioned = false;
            }
        }

        var states = new Dictionary<string, ProvisionState>(StringComparer.Ordinal);
        foreach (var target in targets)
        {
            var have = Math.Min(up.GetValueOrDefault(target.Spec.Identity)?.Count ?? 0, target.Count);
            var started = await Task.WhenAll(Enumerable.Range(0, target.Count - have).Select(_ => StartProvisionedAsync(target.Spec, cancellationToken)));
            var failure = started.FirstOrDefault(f => f is not null);
            states[target.Spec.Identity] = new ProvisionState(have + started.Count(f => f is null), failure);
        }

        return states;
    }

    /// <summary>Starts one provisioned sandbox and runs its init; null when it is up, else what went wrong.</summary>
    private async Task<string?> StartProvisionedAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        // The group first: a retire while this sandbox starts must find it, and refuse the sandbox.
        var group = _groups.GetOrAdd(spec.Identity, static (_, s) => new Group(s.FunctionName, s.Version), spec);
        IPooledSandbox sandbox;
        try
        {
            sandbox = await _launcher.StartAsync(spec, provisioned: true, cancellationToken);
        }
        catch (SandboxStartException ex)
        {
            return ex.Message;
        }

        _all[sandbox] = 0;
        if (!await sandbox.InitializeAheadAsync(cancellationToken))
        {
            await StopAsync(sandbox);
            return "FUNCTION_ERROR_INIT_FAILURE: the function's init failed or timed out";
        }

        if (!group.TryReturn(sandbox))
        {
            // Retired (the function changed) while it started.
            await StopAsync(sandbox);
            return "the function changed while its provisioned sandbox started";
        }

        LogStarted(_logger, sandbox.Id, spec.FunctionName);
        return null;
    }

    private async Task StopAsync(IPooledSandbox sandbox)
    {
        _all.TryRemove(sandbox, out _);
        await sandbox.DisposeAsync();
        LogStopped(_logger, sandbox.Id, sandbox.Spec.FunctionName);
    }

    /// <summary>Reaps sandboxes that have been idle longer than the idle timeout.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_options.IdleTimeout.TotalMilliseconds / 4, 50, 10_000));
        using var timer = new PeriodicTimer(period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var group in _groups.Values)
                {
                    foreach (var expired in group.TakeExpired(_time, _options.IdleTimeout))
                    {
                        await StopAsync(expired);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await Task.WhenAll(_all.Keys.Select(s => s.DisposeAsync().AsTask()));
        _all.Clear();
    }

    /// <summary>The idle sandboxes of one identity. Retiring and returning are decided under one lock.</summary>
    private sealed class Group(string functionName, string version)
    {
        private readonly Lock _gate = new();
        private readonly Stack<IPooledSandbox> _idle = new();
        private bool _retired;

        public string FunctionName { get; } = functionName;

        public string Version { get; } = version;

        public IPooledSandbox? TakeIdle()
        {
            lock (_gate)
            {
                while (_idle.TryPop(out var sandbox))
                {
                    if (sandbox.Alive)
                    {
                        return sandbox;
                    }
                }

                return null;
            }
        }

        /// <summary>Keeps the sandbox for the next invocation; false once the group is retired (stop it instead).</summary>
        public bool TryReturn(IPooledSandbox sandbox)
        {
            lock (_gate)
            {
                if (_retired)
                {
                    return false;
                }

                _idle.Push(sandbox);
                return true;
            }
        }

        /// <summary>No sandbox is returned from now on; the idle ones are handed over to be stopped.</summary>
        public List<IPooledSandbox> Retire()
        {
            lock (_gate)
            {
                _retired = true;
                var all = _idle.ToList();
                _idle.Clear();
                return all;
            }
        }

        public List<IPooledSandbox> TakeExpired(TimeProvider time, TimeSpan idleTimeout)
        {
            lock (_gate)
            {
                var expired = _idle.Where(s => !s.Alive || (!s.Provisioned && time.GetElapsedTime(s.LastUsed) >= idleTimeout)).ToList();
                if (expired.Count > 0)
                {
                    var keep = _idle.Where(s => !expired.Contains(s)).Reverse().ToList();
                    _idle.Clear();
                    foreach (var s in keep)
                    {
                        _idle.Push(s);
                    }
                }

                return expired;
            }
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "sandbox {SandboxId} started for {FunctionName}")]
    private static partial void LogStarted(ILogger logger, string sandboxId, string functionName);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "sandbox {SandboxId} of {FunctionName}: init {InitMs:F1} ms = spawn {SpawnMs:F1} + namespaces {NamespacesMs:F1} + cgroup/listener {SetupMs:F1} + runtime start")]
    private static partial void LogColdStart(ILogger logger, string sandboxId, string functionName, double initMs, double spawnMs, double namespacesMs, double setupMs);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Debug, Message = "sandbox {SandboxId} of {FunctionName} stopped")]
    private static partial void LogStopped(ILogger logger, string sandboxId, string functionName);
}
