using System.Collections.Concurrent;
using Hayate.Sandboxes.Isolation;
using Hayate.Sandboxes.Pooling;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Hayate.Sandboxes.Tests;

/// <summary>
/// The pool's own decisions (reuse, scale-out, reaping, retiring, provisioning) with stand-in
/// sandboxes and a clock that moves only when the test says: no processes, no sleeps.
/// </summary>
public sealed class SandboxPoolTests : IAsyncDisposable
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly StandInLauncher _launcher;
    private readonly SandboxPool _pool;

    public SandboxPoolTests()
    {
        _launcher = new StandInLauncher(_clock);
        _pool = new SandboxPool(_launcher, new SandboxOptions { IdleTimeout = IdleTimeout }, _clock, NullLogger<SandboxPool>.Instance);
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask DisposeAsync()
    {
        await _pool.StopAsync(CancellationToken.None);
        _pool.Dispose();
    }

    [Fact]
    public async Task InvokeAsync_OneAfterAnother_ReusesOneSandbox()
    {
        await _pool.InvokeAsync(Spec("a"), Invocation(), Token);
        await _pool.InvokeAsync(Spec("a"), Invocation(), Token);

        Assert.Single(_launcher.Started);
        Assert.Equal(2, _launcher.Started[0].Invocations);
    }

    [Fact]
    public async Task InvokeAsync_AtOnce_ScalesOutThenReusesBoth()
    {
        var first = _launcher.Hold();
        var running = _pool.InvokeAsync(Spec("a"), Invocation(), Token);
        await _pool.InvokeAsync(Spec("a"), Invocation(), Token);
        first.SetResult();
        await running;
        await _pool.InvokeAsync(Spec("a"), Invocation(), Token);
        await _pool.InvokeAsync(Spec("a"), Invocation(), Token);

        Assert.Equal(2, _launcher.Started.Count);
        Assert.Equal(2, _pool.Count);
    }

    [Fact]
    public async Task InvokeAsync_SandboxDiedWhileIdle_StartsAFreshOne()
    {
        await _pool.InvokeAsync(Spec("a"), Invocation(), Token);
        _launcher.Started[0].Die();

        await _pool.InvokeAsync(Spec("a"), Invocation(), Token);

        Assert.Equal(2, _launcher.Started.Count);
        Assert.Equal(1, _launcher.Started[1].Invocations);
    }

    [Fact]
    public async Task Reaper_StopsSandboxesIdlePastTheTimeout_AndKeepsProvisionedOnes()
    {
        await _pool.StartAsync(Token);
        await _pool.InvokeAsync(Spec("a"), Invocation(), Token);
        await _pool.ProvisionAsync([new ProvisionTarget(Spec("b"), 1)], Token);
        var (plain, provisioned) = (_launcher.Started[0], _launcher.Started[1]);

        _clock.Advance(IdleTimeout - TimeSpan.FromSeconds(1));
        await Settled();
        Assert.False(plain.Disposed);

        _clock.Advance(TimeSpan.FromMinutes(2));
        await WaitUntilAsync(() => plain.Disposed);
        Assert.False(provisioned.Disposed);
        Assert.Equal(1, _pool.Count);
    }

    [Fact]
    public async Task RetireAsync_WhileAnInvocationRuns_StopsThatSandboxWhenItReturns()
    {
        var held = _launcher.Hold();
        var running = _pool.InvokeAsync(Spec("a", identity: "a@1"), Invocation(), Token);
        await WaitUntilAsync(() => _launcher.Started.Count == 1);

        await _pool.RetireAsync("a", null, keepIdentity: "a@2");
        held.SetResult();
        await running;

        Assert.True(_launcher.Started[0].Disposed, "a sandbox of the retired code went back into a pool nobody reaps");
        Assert.Equal(0, _pool.Count);
        await _pool.InvokeAsync(Spec("a", identity: "a@2"), Invocation(), Token);
        Assert.Equal(2, _launcher.Started.Count);
    }

    [Fact]
    public async Task RetireAsync_StopsIdleSandboxesOfThatFunctionOnly_KeepingTheNamedIdentity()
    {
        await _pool.InvokeAsync(Spec("a", identity: "a@1"), Invocation(), Token);
        await _pool.InvokeAsync(Spec("a", identity: "a@2"), Invocation(), Token);
        await _pool.InvokeAsync(Spec("b"), Invocation(), Token);

        await _pool.RetireAsync("a", null, keepIdentity: "a@2");

        Assert.Equal([true, false, false], _launcher.Started.Select(s => s.Disposed));
        Assert.Equal(2, _pool.Count);
    }

    [Fact]
    public async Task ProvisionAsync_StartsTheMissingOnes_ReleasesExtras_AndReportsAFailedStart()
    {
        var states = await _pool.ProvisionAsync([new ProvisionTarget(Spec("a"), 3)], Token);
        Assert.Equal(3, states["a"].Available);
        Assert.All(_launcher.Started, s => Assert.True(s.InitializedAhead));

        states = await _pool.ProvisionAsync([new ProvisionTarget(Spec("a"), 1)], Token);
        Assert.Equal(1, states["a"].Available);
        Assert.Equal(1, _launcher.Started.Count(s => s.Provisioned));

        _launcher.FailStarts = true;
        states = await _pool.ProvisionAsync([new ProvisionTarget(Spec("a"), 2)], Token);
        Assert.Equal(1, states["a"].Available);
        Assert.Equal("no room", states["a"].Failure);
    }

    [Fact]
    public async Task ProvisionAsync_FunctionRetiredWhileItStarted_DoesNotKeepTheSandbox()
    {
        var held = _launcher.HoldInit();
        var provisioning = _pool.ProvisionAsync([new ProvisionTarget(Spec("a", identity: "a@1"), 1)], Token);
        await WaitUntilAsync(() => _launcher.Started.Count == 1);

        await _pool.RetireAsync("a", null, keepIdentity: null);
        held.SetResult();
        var states = await provisioning;

        Assert.Equal(0, states["a@1"].Available);
        Assert.True(_launcher.Started[0].Disposed);
        Assert.Equal(0, _pool.Count);
    }

    private static SandboxSpec Spec(string function, string? identity = null) => new()
    {
        Identity = identity ?? function,
        FunctionName = function,
        FunctionArn = "arn:aws:lambda:us-east-1:000000000000:function:" + function,
        Version = "$LATEST",
        Runtime = "provided.al2023",
        Kind = RuntimeKind.Provided,
        Handler = "x",
        CodeDirectory = "/nonexistent",
        MemorySize = 128,
        Timeout = 3,
        EphemeralStorageSize = 512,
        Environment = new Dictionary<string, string>(),
        Region = "us-east-1",
    };

    private static SandboxInvocation Invocation() => new()
    {
        RequestId = Guid.NewGuid().ToString(),
        Payload = "{}"u8.ToArray(),
        InvokedFunctionArn = "arn",
        TraceId = "trace",
    };

    /// <summary>Lets the reaper's timer callbacks and their continuations run.</summary>
    private static async Task Settled()
    {
        for (var i = 0; i < 20; i++)
        {
            await Task.Yield();
            await Task.Delay(1, Token);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    /// <summary>Starts stand-ins; can hold the next invocation or init open until the test lets it go.</summary>
    private sealed class StandInLauncher(TimeProvider clock) : ISandboxLauncher
    {
        private readonly ConcurrentQueue<TaskCompletionSource> _holds = new();
        private readonly ConcurrentQueue<TaskCompletionSource> _initHolds = new();
        private readonly Lock _gate = new();
        private readonly List<StandIn> _started = [];

        public IReadOnlyList<StandIn> Started
        {
            get
            {
                lock (_gate)
                {
                    return [.. _started];
                }
            }
        }

        public bool FailStarts { get; set; }

        public TaskCompletionSource Hold()
        {
            var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _holds.Enqueue(hold);
            return hold;
        }

        public TaskCompletionSource HoldInit()
        {
            var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _initHolds.Enqueue(hold);
            return hold;
        }

        public Task<IPooledSandbox> StartAsync(SandboxSpec spec, bool provisioned, CancellationToken cancellationToken)
        {
            if (FailStarts)
            {
                throw new SandboxStartException("Runtime.Unavailable", "no room");
            }

            _initHolds.TryDequeue(out var initHold);
            var sandbox = new StandIn(spec, clock, _holds, initHold) { Provisioned = provisioned };
            lock (_gate)
            {
                _started.Add(sandbox);
            }

            return Task.FromResult<IPooledSandbox>(sandbox);
        }
    }

    private sealed class StandIn(SandboxSpec spec, TimeProvider clock, ConcurrentQueue<TaskCompletionSource> holds, TaskCompletionSource? initHold) : IPooledSandbox
    {
        private int _invocations;
        private volatile bool _dead;

        public string Id { get; } = Guid.NewGuid().ToString("N")[..8];
        public SandboxSpec Spec => spec;
        public bool Alive => !_dead && !Disposed;
        public long LastUsed { get; private set; } = clock.GetTimestamp();
        public bool Provisioned { get; set; }
        public LaunchTimings LaunchTimings => default;
        public int Invocations => Volatile.Read(ref _invocations);
        public bool Disposed { get; private set; }
        public bool InitializedAhead { get; private set; }

        public void Die() => _dead = true;

        public async Task<SandboxResult> InvokeAsync(SandboxInvocation invocation, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _invocations);
            if (holds.TryDequeue(out var hold))
            {
                await hold.Task.WaitAsync(cancellationToken);
            }

            LastUsed = clock.GetTimestamp();
            return new SandboxResult { Payload = invocation.Payload, Output = "", Duration = TimeSpan.Zero, MaxMemoryUsedBytes = 0 };
        }

        public async Task<bool> InitializeAheadAsync(CancellationToken cancellationToken)
        {
            if (initHold is not null)
            {
                await initHold.Task.WaitAsync(cancellationToken);
            }

            InitializedAhead = true;
            return true;
        }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
