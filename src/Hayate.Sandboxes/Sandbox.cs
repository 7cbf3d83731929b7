using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Hayate.Sandboxes.Isolation;
using Hayate.Sandboxes.Networking;
using Hayate.Sandboxes.Pooling;
using Hayate.Sandboxes.RuntimeApi;
using Microsoft.Extensions.Logging;

namespace Hayate.Sandboxes;

/// <summary>
/// One running sandbox: a runtime process with its own Runtime API, serving one invocation at a
/// time. Init code runs once, when the sandbox starts; every later invocation reuses it while warm.
/// </summary>
public sealed class Sandbox : IRuntimeApiHandler, IPooledSandbox
{
    private static long _counter;
    private readonly Lock _gate = new();
    private readonly Process _process;
    private readonly Socket _output;
    private readonly SandboxCgroup? _cgroup;
    private readonly SandboxUsers.Lease? _user;
    private readonly SandboxNetwork? _network;
    private readonly RuntimeApiServer _runtimeApi;
    private readonly TimeProvider _time;
    private readonly SandboxOptions _options;
    private readonly long _startedAt;
    private readonly TaskCompletionSource<RuntimeEvent> _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _runtimeWaiting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _exited;
    private readonly byte[] _readBuffer = new byte[16 * 1024];
    private readonly CancellationTokenSource _stopping = new();
    private readonly ITimer _freezer;
    private bool _frozen;
    private bool _busy;
    private MemoryStream _log = new();
    private string _initOutput = "";
    private Inflight? _current;
    private TaskCompletionSource<RuntimeEvent> _nextEvent = new();
    private volatile InitError? _initError;
    private bool _initialized;
    private bool _outputClosed;
    private int _disposed;

    private Sandbox(string id, string logStream, SandboxSpec spec, LaunchedProcess launched, TimeProvider time, SandboxOptions options, long startedAt, ILogger logger)
    {
        Id = id;
        LogStream = logStream;
        LaunchTimings = launched.Timings;
        Spec = spec;
        _process = launched.Process;
        _output = launched.Output;
        _cgroup = launched.Cgroup;
        _user = launched.User;
        _network = launched.Network;
        _time = time;
        _options = options;
        _startedAt = startedAt;
        _runtimeApi = new RuntimeApiServer(launched.Listener, this, logger, id);
        _runtimeApi.Start();
        _freezer = time.CreateTimer(static state => ((Sandbox)state!).Freeze(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _ = PumpOutputAsync();
        _exited = WatchExitAsync();
        LastUsed = time.GetTimestamp();
    }

    public string Id { get; }

    public SandboxSpec Spec { get; }

    /// <summary>The log stream this sandbox writes to (AWS_LAMBDA_LOG_STREAM_NAME).</summary>
    public string LogStream { get; }

    /// <summary>Time spent starting the process, before the runtime ran.</summary>
    public LaunchTimings LaunchTimings { get; }

    /// <summary>False once the process has exited, was killed, or failed its init.</summary>
    public bool Alive => Volatile.Read(ref _disposed) == 0 && !_exited.IsCompleted && _initError is null;

    /// <summary>Timestamp (TimeProvider ticks) of the end of the last invocation.</summary>
    public long LastUsed { get; private set; }

    /// <summary>Kept initialised for provisioned concurrency: not reaped when idle.</summary>
    public bool Provisioned { get; set; }

    internal static async Task<Sandbox> StartAsync(SandboxSpec spec, Launcher launcher, TimeProvider time, SandboxOptions options, ILogger logger, bool provisioned, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _counter).ToString(CultureInfo.InvariantCulture) + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var started = time.GetTimestamp();
        var logStream = LogStreams.For(spec.Version, time.GetUtcNow());
        var launched = await launcher.LaunchAsync(spec, id, logStream, provisioned, cancellationToken);
        return new Sandbox(id, logStream, spec, launched, time, options, started, logger) { Provisioned = provisioned };
    }

    /// <summary>
    /// Runs init ahead of any invocation (provisioned concurrency): true once the runtime has
    /// initialised and asks for its first event; false if it failed, exited or took too long.
    /// Invocations of a sandbox initialised this way report no Init Duration.
    /// </summary>
    public async Task<bool> InitializeAheadAsync(CancellationToken cancellationToken)
    {
        var first = await Task.WhenAny(_runtimeWaiting.Task, _exited, Task.Delay(_options.InitTimeout, _time, cancellationToken));
        if (first != _runtimeWaiting.Task || _initError is not null)
        {
            return false;
        }

        lock (_gate)
        {
            if (!_initialized)
            {
                _cgroup?.EndInitBoost();
                DrainOutput();
                _initOutput = Encoding.UTF8.GetString(_log.GetBuffer(), 0, (int)_log.Length);
                _log = new MemoryStream();
                _initialized = true;
            }
        }

        FreezeSoon();
        return Alive;
    }

    /// <summary>Runs one invocation to its end: response, function error, timeout, crash or init failure.</summary>
    public async Task<SandboxResult> InvokeAsync(SandboxInvocation invocation, CancellationToken cancellationToken)
    {
        Wake();
        var coldStart = !_initialized;
        // One timer per invocation: armed with the init timeout on a cold start, re-armed with the
        // function's timeout when the runtime takes the event (see NextAsync).
        using var inflight = new Inflight(invocation.RequestId, _time, coldStart ? _options.InitTimeout : Timeout.InfiniteTimeSpan);
        TaskCompletionSource<RuntimeEvent> next;
        lock (_gate)
        {
            _current = inflight;
            next = _nextEvent;
        }

        var invokeStart = _time.GetTimestamp();
        var evt = new RuntimeEvent(
            invocation.RequestId,
            invocation.Payload,
            0,
            invocation.InvokedFunctionArn,
            invocation.TraceId,
            invocation.ClientContext,
            invocation.CognitoIdentity);

        Outcome outcome;
        try
        {
            // Hands the event to the runtime's pending GET /next, which sends it on this thread
            // (the continuation runs inline: no hop through the thread pool on the warm path).
            next.TrySetResult(evt);
            using (cancellationToken.Register(static state => ((Inflight)state!).Expire(), inflight))
            {
                // Decide by what has completed, the answer before everything else: WhenAny's
                // winner need not be the task that completed first.
                await Task.WhenAny(inflight.Done.Task, _exited, inflight.Expired.Task);
            }

            cancellationToken.ThrowIfCancellationRequested();
            outcome = inflight.Done.Task.IsCompleted
                ? inflight.Done.Task.Result
                : await FailureAsync(invocation.RequestId, _exited.IsCompleted);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
            throw;
        }

        var delivered = inflight.DeliveredAt != 0;
        TimeSpan? initDuration = coldStart && delivered ? _time.GetElapsedTime(_startedAt, inflight.DeliveredAt) : null;
        lock (_gate)
        {
            _current = null;
        }

        if (outcome.InitError)
        {
            initDuration ??= _time.GetElapsedTime(_startedAt);
            await KillAsync();
        }

        var duration = _time.GetElapsedTime(delivered ? inflight.DeliveredAt : invokeStart);
        LastUsed = _time.GetTimestamp();
        FreezeSoon();
        return new SandboxResult
        {
            Payload = outcome.Body,
            ErrorType = outcome.ErrorType,
            InitOutput = TakeInitOutput(),
            Output = TakeLog(),
            Duration = duration,
            InitDuration = initDuration,
            MaxMemoryUsedBytes = _cgroup?.PeakMemoryBytes() ?? 0,
            Status = outcome.Status,
            LogStream = LogStream,
        };
    }

    /// <summary>The invocation did not answer: it timed out, or the process is gone. Find out which, and clean up.</summary>
    private async Task<Outcome> FailureAsync(string requestId, bool exited)
    {
        if (!exited)
        {
            var timedOut = _initialized
                ? $"Task timed out after {Spec.Timeout.ToString("0.00", CultureInfo.InvariantCulture)} seconds"
                : $"Init timed out after {_options.InitTimeout.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} seconds";
            await KillAsync();
            return Outcome.Error(requestId, "Sandbox.Timedout", timedOut, "Status: timeout");
        }

        await DrainOutputAsync();
        if (_initError is { } init)
        {
            return new Outcome(init.Body, init.ErrorType, null, InitError: true);
        }

        // Each sandbox has a cgroup of its own and dies with its first OOM kill, so any kill counted is this one.
        var oom = (_cgroup?.OomKills() ?? 0) > 0;
        var code = _process.ExitCode;
        // bash execs bwrap, which passes on the runtime's status; 128+N means killed by signal N.
        var how = code > 128 ? $"signal: {SignalName(code - 128)}" : $"exit status {code}";
        await KillAsync();
        return oom
            ? Outcome.Error(requestId, "Runtime.OutOfMemory", $"Runtime exited with error: {how}", "Status: error\tError Type: Runtime.OutOfMemory")
            : Outcome.Error(requestId, "Runtime.ExitError", $"Runtime exited with error: {how}", "Status: error\tError Type: Runtime.ExitError");
    }

    private static string SignalName(int signal) => signal switch
    {
        9 => "killed",
        6 => "aborted",
        11 => "segmentation fault",
        15 => "terminated",
        _ => signal.ToString(CultureInfo.InvariantCulture),
    };

    async ValueTask<RuntimeEvent?> IRuntimeApiHandler.NextAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource<RuntimeEvent> next;
        lock (_gate)
        {
            next = _nextEvent;
        }

        _runtimeWaiting.TrySetResult();

        RuntimeEvent evt;
        try
        {
            evt = await next.Task.WaitAsync(_stopping.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }

        lock (_gate)
        {
            _nextEvent = new TaskCompletionSource<RuntimeEvent>();
            if (_current is not { } inflight || inflight.RequestId != evt.RequestId)
            {
                return null;
            }

            inflight.DeliveredAt = _time.GetTimestamp();
            inflight.Arm(TimeSpan.FromSeconds(Spec.Timeout));
            if (!_initialized)
            {
                _cgroup?.EndInitBoost();
                // What init printed belongs before START, as in Lambda's log stream.
                DrainOutput();
                _initOutput = Encoding.UTF8.GetString(_log.GetBuffer(), 0, (int)_log.Length);
                _log = new MemoryStream();
                _initialized = true;
            }

            var deadline = _time.GetUtcNow().AddSeconds(Spec.Timeout).ToUnixTimeMilliseconds();
            return evt with { DeadlineMs = deadline };
        }
    }

    bool IRuntimeApiHandler.Respond(string requestId, ReadOnlyMemory<byte> body) =>
        Complete(requestId, new Outcome(body, null, null));

    bool IRuntimeApiHandler.Fail(string requestId, ReadOnlyMemory<byte> body, string? errorType) =>
        Complete(requestId, new Outcome(body, ErrorTypeOf(body, errorType), null));

    void IRuntimeApiHandler.InitFailed(ReadOnlyMemory<byte> body, string? errorType)
    {
        _initError = new InitError(body, ErrorTypeOf(body, errorType));
        Inflight? inflight;
        lock (_gate)
        {
            inflight = _current;
        }

        if (inflight is not null)
        {
            DrainOutput();
            inflight.Done.TrySetResult(new Outcome(body, ErrorTypeOf(body, errorType), "Status: error\tError Type: " + ErrorTypeOf(body, errorType), InitError: true));
        }
    }

    void IRuntimeApiHandler.ResponseTooLarge(string? requestId) =>
        Complete(requestId ?? "", Outcome.Error(requestId ?? "", "Function.ResponseSizeTooLarge", "Response payload size exceeded maximum allowed payload size (6291556 bytes).", null));

    private bool Complete(string requestId, Outcome outcome)
    {
        Inflight? inflight;
        lock (_gate)
        {
            inflight = _current;
        }

        if (inflight is null || inflight.RequestId != requestId)
        {
            return false;
        }

        // Everything the runtime printed before it answered is already in the socket: take it now,
        // so the output lands in this invocation's log and not the next one's.
        DrainOutput();
        return inflight.Done.TrySetResult(outcome);
    }

    /// <summary>The error type a runtime reported: the body's errorType, else the header (some runtimes send only "Unhandled" there).</summary>
    private static string ErrorTypeOf(ReadOnlyMemory<byte> body, string? header)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object &&
                doc.RootElement.TryGetProperty("errorType", out var type) && type.ValueKind == System.Text.Json.JsonValueKind.String &&
                type.GetString() is { Length: > 0 } fromBody)
            {
                return fromBody;
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return string.IsNullOrEmpty(header) ? "Unhandled" : header;
    }

    /// <summary>Moves output from the socket to the log as it arrives; only under the gate, so a drain never races it.</summary>
    private async Task PumpOutputAsync()
    {
        try
        {
            while (true)
            {
                // A zero-byte receive waits for data without taking it.
                await _output.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                if (!DrainOutput())
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            lock (_gate)
            {
                _outputClosed = true;
            }
        }
    }

    /// <summary>Takes whatever output is waiting. False once the runtime's side is closed.</summary>
    private bool DrainOutput()
    {
        lock (_gate)
        {
            if (_outputClosed)
            {
                return false;
            }

            try
            {
                while (true)
                {
                    if (_output.Available == 0)
                    {
                        // Available is 0 both when nothing is waiting and at end of stream; a peek tells them apart.
                        if (_output.Poll(0, SelectMode.SelectRead) && _output.Receive(_readBuffer, 0, 1, SocketFlags.Peek) == 0)
                        {
                            _outputClosed = true;
                            return false;
                        }

                        return true;
                    }

                    var read = _output.Receive(_readBuffer, SocketFlags.None);
                    if (read == 0)
                    {
                        _outputClosed = true;
                        return false;
                    }

                    if (_log.Length < MaxLogBytes)
                    {
                        _log.Write(_readBuffer, 0, read);
                    }
                }
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                _outputClosed = true;
                return false;
            }
        }
    }

    /// <summary>After the process is gone: wait (briefly) for the last of its output.</summary>
    private async Task DrainOutputAsync()
    {
        var until = _time.GetTimestamp();
        while (DrainOutput() && _time.GetElapsedTime(until) < TimeSpan.FromMilliseconds(200))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), _time);
        }
    }

    /// <summary>Output kept per invocation; a function printing more is cut (Lambda would throttle the log).</summary>
    private const int MaxLogBytes = 8 * 1024 * 1024;

    private string TakeInitOutput()
    {
        lock (_gate)
        {
            var text = _initOutput;
            _initOutput = "";
            return text;
        }
    }

    private string TakeLog()
    {
        lock (_gate)
        {
            var text = Encoding.UTF8.GetString(_log.GetBuffer(), 0, (int)_log.Length);
            _log = new MemoryStream();
            return text;
        }
    }

    private async Task WatchExitAsync()
    {
        try
        {
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>
    /// Between invocations nothing in the sandbox runs, as on Lambda: once it has been idle for
    /// FreezeAfter, its cgroup is frozen; the next invocation thaws it before the runtime gets the
    /// event. Back-to-back invocations never pay for it.
    /// </summary>
    private void FreezeSoon()
    {
        lock (_gate)
        {
            _busy = false;
            if (_cgroup is { CanFreeze: true } && Volatile.Read(ref _disposed) == 0)
            {
                _freezer.Change(_options.FreezeAfter, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Freeze()
    {
        lock (_gate)
        {
            if (!_busy && !_frozen && Volatile.Read(ref _disposed) == 0)
            {
                _cgroup!.Freeze();
                _frozen = true;
            }
        }
    }

    /// <summary>Cancels a pending freeze and thaws a frozen sandbox: an invocation is about to start.</summary>
    private void Wake()
    {
        lock (_gate)
        {
            _busy = true;
            _freezer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            if (_frozen)
            {
                _cgroup!.Thaw();
                _frozen = false;
            }
        }
    }

    /// <summary>Kills the sandbox and everything in it, and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            // A frozen (v1) process dies of the SIGKILL only once thawed.
            _cgroup?.Thaw();
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
        }

        await _exited.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        lock (_gate)
        {
            _freezer.Dispose();
        }

        _runtimeApi.Dispose();
        await KillAsync();
        _output.Dispose();
        if (_cgroup is not null)
        {
            await Task.Run(_cgroup.Destroy);
        }

        _process.Dispose();
        _stopping.Dispose();
        _network?.Dispose();
        // Only now, with every process of the sandbox gone, may another sandbox have its uid.
        _user?.Dispose();
    }

    /// <summary>What the runtime posted to /runtime/init/error.</summary>
    private sealed record InitError(ReadOnlyMemory<byte> Body, string ErrorType);

    /// <summary>The invocation in flight: its answer, and the one timer that bounds it.</summary>
    private sealed class Inflight : IDisposable
    {
        private readonly ITimer _timer;

        public Inflight(string requestId, TimeProvider time, TimeSpan initialTimeout)
        {
            RequestId = requestId;
            _timer = time.CreateTimer(static state => ((Inflight)state!).Expire(), this, initialTimeout, Timeout.InfiniteTimeSpan);
        }

        public string RequestId { get; }
        public TaskCompletionSource<Outcome> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Expired { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Timestamp of the runtime taking the event; 0 until then.</summary>
        public long DeliveredAt { get; set; }

        public void Arm(TimeSpan timeout) => _timer.Change(timeout, Timeout.InfiniteTimeSpan);

        public void Expire() => Expired.TrySetResult();

        public void Dispose() => _timer.Dispose();
    }

    private readonly record struct Outcome(ReadOnlyMemory<byte> Body, string? ErrorType, string? Status, bool InitError = false)
    {
        public static Outcome Error(string requestId, string errorType, string message, string? status)
        {
            var json = System.Text.Json.JsonSerializer.Serialize(
                new ErrorBody($"RequestId: {requestId} Error: {message}", errorType),
                SandboxJson.Default.ErrorBody);
            return new Outcome(Encoding.UTF8.GetBytes(json), errorType, status);
        }
    }
}

internal sealed record ErrorBody(
    [property: System.Text.Json.Serialization.JsonPropertyName("errorMessage")] string ErrorMessage,
    [property: System.Text.Json.Serialization.JsonPropertyName("errorType")] string ErrorType);

[System.Text.Json.Serialization.JsonSerializable(typeof(ErrorBody))]
internal sealed partial class SandboxJson : System.Text.Json.Serialization.JsonSerializerContext;

/// <summary>Starts real sandboxes: bubblewrap (or plain) processes with their own Runtime API.</summary>
public sealed class ProcessSandboxLauncher(HostCapabilities host, SandboxOptions options, SandboxNetworks networks, ApiEndpoint endpoint, TimeProvider time, ILogger<Sandbox> logger) : ISandboxLauncher
{
    private readonly Launcher _launcher = new(host, options, networks, endpoint, logger);

    public async Task<IPooledSandbox> StartAsync(SandboxSpec spec, bool provisioned, CancellationToken cancellationToken) =>
        await Sandbox.StartAsync(spec, _launcher, time, options, logger, provisioned, cancellationToken);

    /// <summary>
    /// Starts one sandbox that tries to write a global sysctl and to make a nested user namespace;
    /// the problems found (none when the sandbox holds). Only meaningful with bubblewrap: plain
    /// processes hold nothing.
    /// </summary>
    public Task<IReadOnlyList<string>> SelfTestAsync(CancellationToken cancellationToken) =>
        SandboxSelfTest.RunAsync(_launcher, Path.Combine(options.StagingDirectory ?? Path.GetTempPath(), "self-test"), cancellationToken);
}
