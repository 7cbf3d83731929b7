using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Hayate.Bench;

/// <summary>What a warm cell sends its requests to.</summary>
/// <summary>What to load: <paramref name="ExpectedStatus"/> other than 200 marks a target whose answer is meant to be an error (a throttle).</summary>
internal sealed record LoadTarget(string Label, Uri Uri, string? InvocationType, int ExpectedStatus = 200);

/// <summary>The result of one warm cell: per-request latencies and the throughput they add up to.</summary>
internal sealed record LoadResult(string Target, int Concurrency, Stats Latency, int Requests, int Errors, TimeSpan Elapsed, CpuSnapshot Cpu, int RuntimesStarted)
{
    public double RequestsPerSecond => Requests / Elapsed.TotalSeconds;

    /// <summary>
    /// CPU milliseconds per request, by process, over the measured run. A process that exits during
    /// the run takes its CPU time with it, which can make a difference slightly negative: shown as 0.
    /// </summary>
    public CpuSnapshot CpuPerRequest => Requests == 0
        ? default
        : new(Math.Max(0, Cpu.Bench / Requests), Math.Max(0, Cpu.Server / Requests), Math.Max(0, Cpu.Sandboxes / Requests));
}

/// <summary>
/// The one piece of client code that hits both the bare Kestrel echo and a Lambda invoke: a shared
/// HttpClient over SocketsHttpHandler, N loops each sending its own requests one after another.
/// </summary>
internal sealed class LoadRunner : IDisposable
{
    public static readonly byte[] Payload = """{"hello":"world"}"""u8.ToArray();

    private readonly HttpClient _http;

    public LoadRunner()
    {
        var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 32,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        };
        _http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
    }

    public HttpClient Http => _http;

    /// <summary>One request: POST the payload, read the whole answer. False when it failed.</summary>
    /// <paramref name="invocationType"/> null sends no X-Amz-Invocation-Type header (a Lambda
    /// RequestResponse); "DryRun" expects 204 and no body.
    public async Task<bool> SendOnceAsync(Uri uri, string? invocationType, CancellationToken cancellationToken)
    {
        return await SendAsync(uri, invocationType, cancellationToken) is null;
    }

    /// <summary>One request; null when it succeeded, else what went wrong (status, headers, body).</summary>
    private async Task<string?> SendAsync(Uri uri, string? invocationType, CancellationToken cancellationToken, int expectedStatus = 200)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(Payload) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        if (invocationType is not null)
        {
            request.Headers.Add("X-Amz-Invocation-Type", invocationType);
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var ok = invocationType == "DryRun"
            ? response.StatusCode == HttpStatusCode.NoContent
            : expectedStatus != 200
                ? (int)response.StatusCode == expectedStatus
                : response.StatusCode == HttpStatusCode.OK && !response.Headers.Contains("X-Amz-Function-Error") && body.Length > 0;
        if (ok)
        {
            return null;
        }

        var error = response.Headers.TryGetValues("X-Amz-Function-Error", out var values) ? " X-Amz-Function-Error: " + string.Join(",", values) : "";
        return $"HTTP {(int)response.StatusCode}{error}: {Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 500))}";
    }

    /// <summary>The first few failures seen, for the report: a benchmark must not hide errors.</summary>
    public IReadOnlyCollection<string> Failures => _failures;

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _failures = new();

    /// <summary>Sends requests for <paramref name="duration"/> without measuring them (JIT, connections, sandboxes).</summary>
    public Task WarmUpAsync(Uri uri, int concurrency, TimeSpan duration, string? invocationType = null, int expectedStatus = 200) =>
        LoopsAsync(uri, invocationType, concurrency, duration, minimumPerLoop: 20, record: null, expectedStatus);

    /// <summary>
    /// Measures several targets at one concurrency for <paramref name="duration"/> each, interleaved:
    /// <paramref name="rounds"/> rounds, each giving every target an equal slice (in a rotating order),
    /// so that whatever else the machine does during the run falls on all targets alike.
    /// </summary>
    public async Task<List<LoadResult>> RunInterleavedAsync(IReadOnlyList<LoadTarget> targets, int concurrency, TimeSpan duration, int rounds, Func<CpuSnapshot> cpu)
    {
        var latencies = targets.Select(_ => Enumerable.Range(0, concurrency).Select(_ => new List<double>(100_000)).ToArray()).ToArray();
        var errors = new int[targets.Count];
        var elapsed = new TimeSpan[targets.Count];
        var used = new CpuSnapshot[targets.Count];
        var started = new int[targets.Count];
        var slice = duration / rounds;
        for (var round = 0; round < rounds; round++)
        {
            for (var k = 0; k < targets.Count; k++)
            {
                var t = (k + round) % targets.Count;
                var before = cpu();
                var (took, failed) = await LoopsAsync(targets[t].Uri, targets[t].InvocationType, concurrency, slice, minimumPerLoop: 0, record: latencies[t], targets[t].ExpectedStatus);
                var after = cpu();
                used[t] = used[t] + (after - before);
                started[t] += after.Runtimes.Count(pid => !before.Runtimes.Contains(pid));
                elapsed[t] += took;
                errors[t] += failed;
            }
        }

        return targets.Select((target, t) =>
        {
            var all = latencies[t].SelectMany(l => l).ToList();
            return new LoadResult(target.Label, concurrency, new Stats(all), all.Count, errors[t], elapsed[t], used[t], started[t]);
        }).ToList();
    }

    private async Task<(TimeSpan Elapsed, int Errors)> LoopsAsync(Uri uri, string? invocationType, int concurrency, TimeSpan duration, int minimumPerLoop, List<double>[]? record, int expectedStatus = 200)
    {
        var errors = 0;
        var started = Stopwatch.GetTimestamp();
        var until = started + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var loops = Enumerable.Range(0, concurrency).Select(index => Task.Run(async () =>
        {
            var sent = 0;
            while (Stopwatch.GetTimestamp() < until || sent < minimumPerLoop)
            {
                var before = Stopwatch.GetTimestamp();
                string? failure;
                try
                {
                    failure = await SendAsync(uri, invocationType, CancellationToken.None, expectedStatus);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    failure = ex.GetType().Name + ": " + ex.Message;
                }

                var ok = failure is null;
                if (failure is not null && _failures.Count < 5)
                {
                    _failures.Enqueue($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {uri.AbsolutePath} c={concurrency}: {failure}");
                }

                var after = Stopwatch.GetTimestamp();
                sent++;
                if (!ok)
                {
                    Interlocked.Increment(ref errors);
                    continue;
                }

                record?[index].Add((after - before) * 1000.0 / Stopwatch.Frequency);
            }
        })).ToArray();
        await Task.WhenAll(loops);
        var elapsed = Stopwatch.GetElapsedTime(started);
        if (errors > 0)
        {
            await Console.Error.WriteLineAsync(new StringBuilder().Append("bench: ").Append(errors).Append(" failed requests to ").Append(uri).Append("; first failures:\n  ").AppendJoin("\n  ", _failures).ToString());
        }

        return (elapsed, errors);
    }

    /// <summary>Sends <paramref name="count"/> requests with <paramref name="concurrency"/> loops, then waits with <paramref name="drained"/>; both times from the first send.</summary>
    public async Task<(TimeSpan Accepted, TimeSpan Drained)> BurstAsync(LoadTarget target, int count, int concurrency, Func<Task> drained)
    {
        var next = 0;
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) <= count)
            {
                if (await SendAsync(target.Uri, target.InvocationType, CancellationToken.None, target.ExpectedStatus) is { } failure && _failures.Count < 5)
                {
                    _failures.Enqueue($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} burst {target.Uri.AbsolutePath}: {failure}");
                }
            }
        })));
        var accepted = Stopwatch.GetElapsedTime(started);
        await drained();
        return (accepted, Stopwatch.GetElapsedTime(started));
    }

    public void Dispose() => _http.Dispose();
}
