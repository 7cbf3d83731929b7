using System.Globalization;
using System.Text;

namespace Hayate.Bench;

/// <summary>The cold starts of one runtime: N new functions, each created then invoked twice.</summary>
internal sealed record ColdStartResult(string Label, string Runtime, Stats Create, Stats FirstInvoke, Stats InitDuration, Stats ReportDuration, Stats Outside, Stats SecondInvoke);

/// <summary>One concurrency level of the warm test: the floor, the API alone, the full invoke.</summary>
internal sealed record WarmCell(LoadResult Kestrel, LoadResult DryRun, LoadResult Hayate);

/// <summary>Sequential warm invokes with the log tail: client wall clock vs the REPORT Duration.</summary>
internal sealed record WarmBreakdown(Stats Wall, Stats ReportDuration, Stats Outside);

/// <summary>The markdown report.</summary>
internal static class Report
{
    private const string PythonFloor = ProcessFloors.PythonFloor;
    private const string NodeFloor = ProcessFloors.NodeFloor;
    private const string BashFloor = ProcessFloors.BashFloor;

    public static string Render(
        string commandLine,
        BenchOptions options,
        List<(string Name, string Value)> machine,
        List<string> serverLines,
        List<WarmCell> warm,
        WarmBreakdown? breakdown,
        List<(LoadResult Result, LoadResult Latest)> routing,
        AsyncResult? asyncResult,
        SourcesResult? sourcesResult,
        List<ColdStartResult> cold,
        List<ProcessFloor> floors,
        IReadOnlyCollection<string> failures)
    {
        var md = new StringBuilder();
        Machine(md, commandLine, options, machine, serverLines);
        if (warm.Count > 0)
        {
            Warm(md, warm, breakdown);
        }

        if (routing.Count > 0)
        {
            Routing(md, routing);
        }

        if (asyncResult is not null)
        {
            Async(md, asyncResult);
        }

        if (sourcesResult is not null)
        {
            Sources(md, sourcesResult);
        }

        if (failures.Count > 0)
        {
            md.AppendLine("**Failed requests and server warnings** (the first few; failed requests are left out of the latencies):").AppendLine();
            foreach (var failure in failures)
            {
                md.Append("- `").Append(failure.Replace("`", "'", StringComparison.Ordinal).ReplaceLineEndings(" ")).AppendLine("`");
            }

            md.AppendLine();
        }

        if (cold.Count > 0)
        {
            Cold(md, cold, floors);
        }

        if (floors.Count > 0)
        {
            Floors(md, floors);
        }

        Targets(md, warm, cold, floors);
        return md.ToString();
    }

    private static void Machine(StringBuilder md, string commandLine, BenchOptions options, List<(string Name, string Value)> machine, List<string> serverLines)
    {
        var ci = CultureInfo.InvariantCulture;
        md.AppendLine("## Hayate end-to-end benchmark").AppendLine();
        md.AppendLine("| machine | |").AppendLine("| --- | --- |");
        foreach (var (name, value) in machine)
        {
            md.Append(ci, $"| {name} | {value} |").AppendLine();
        }

        foreach (var line in serverLines.Where(l => l.StartsWith("hayate: isolation", StringComparison.Ordinal) || l.StartsWith("hayate: cgroups", StringComparison.Ordinal)))
        {
            var text = line["hayate: ".Length..];
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            md.Append(ci, $"| hayate {text[..colon]} | {text[(colon + 1)..].Trim()} |").AppendLine();
        }

        md.Append(ci, $"| command | `{commandLine}` |").AppendLine();
        md.Append(ci, $"| settings | warm: {options.WarmUp.TotalSeconds:0.#} s warm-up per target and concurrency, then {options.Duration.TotalSeconds:0.#} s measured per cell in {options.Rounds} interleaved rounds; cold: {options.ColdCount} new functions per runtime; floors: {options.ColdCount} runs per command; cold starts and floors in {options.ColdCount} interleaved rounds |").AppendLine();
        if (options.ServerEnvironment.Count > 0)
        {
            md.Append(ci, $"| server environment | `{string.Join(' ', options.ServerEnvironment.Select(e => e.Key + "=" + e.Value))}` |").AppendLine();
        }

        md.AppendLine();
    }

    /// <summary>Alias routing against $LATEST, and the throttle path; each row with the $LATEST row of its concurrency.</summary>
    private static void Routing(StringBuilder md, List<(LoadResult Result, LoadResult Latest)> routing)
    {
        var ci = CultureInfo.InvariantCulture;
        md.AppendLine("### Alias routing and throttling").AppendLine();
        md.AppendLine("The same echo function invoked as `$LATEST`, through an alias `live` that sends 70% to version 1 and 30% to version 2 (target: at most 5% more than `$LATEST`), and through an alias `plain` without weights (the cost of resolving an alias, without spreading calls over two warm sandboxes); and a function with reserved concurrency 0, whose every invoke is answered 429 `TooManyRequestsException` (target: p99 under 1 ms). Interleaved rounds, as above.").AppendLine();
        md.AppendLine("| target | c | requests | req/s | p50 ms | p90 ms | p99 ms | p50 / $LATEST p50 | mean / $LATEST mean | CPU ms/req server | sandbox |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (result, latest) in routing)
        {
            var errors = result.Errors > 0 ? $" ({result.Errors} failed)" : "";
            md.Append(ci, $"| {result.Target} | {result.Concurrency} | {result.Requests}{errors} | {result.RequestsPerSecond:0} | {Stats.Ms(result.Latency.P50)} | {Stats.Ms(result.Latency.P90)} | {Stats.Ms(result.Latency.P99)} | {Stats.Ratio(result.Latency.P50 / latest.Latency.P50)} | {Stats.Ratio(result.Latency.Mean / latest.Latency.Mean)} | {Stats.Ms(result.CpuPerRequest.Server)} | {Stats.Ms(result.CpuPerRequest.Sandboxes)} |").AppendLine();
        }

        md.AppendLine();
    }

    private static void Async(StringBuilder md, AsyncResult a)
    {
        var ci = CultureInfo.InvariantCulture;
        md.AppendLine("### Asynchronous invocation").AppendLine();
        md.AppendLine("`X-Amz-Invocation-Type: Event` to a python3.12 echo function: each 202 is sent after the event is committed to the journal (synchronous=FULL; the journal's writer commits every event waiting in one transaction). The floor: one `INSERT` committed per transaction into a WAL-mode SQLite file on the same disk, from this process. The accept cells run with the function's reserved concurrency at 0, so that nothing runs meanwhile and the accepts have the CPUs to themselves (the events wait, throttled, and all run afterwards). Delivery: with no reservation, a burst of events sent at c = 32, timed from the first send until the queue is empty (every event run): accepting and running share the two vCPUs there.").AppendLine();
        md.AppendLine("| measurement | c | rate /s | p50 ms | p99 ms |").AppendLine("| --- | ---: | ---: | ---: | ---: |");
        md.Append(ci, $"| SQLite, one insert per transaction, synchronous=FULL (floor) | 1 | {a.FloorFull:0} | | |").AppendLine();
        md.Append(ci, $"| SQLite, one insert per transaction, synchronous=NORMAL | 1 | {a.FloorNormal:0} | | |").AppendLine();
        foreach (var r in a.Accepts)
        {
            var errors = r.Errors > 0 ? $" ({r.Errors} failed)" : "";
            md.Append(ci, $"| Event accepted (202){errors} | {r.Concurrency} | {r.RequestsPerSecond:0} | {Stats.Ms(r.Latency.P50)} | {Stats.Ms(r.Latency.P99)} |").AppendLine();
        }

        md.Append(ci, $"| burst of {a.Burst} events: accepted in {a.Accepted.TotalSeconds:0.00} s, all run after {a.Drained.TotalSeconds:0.00} s (delivered end to end) | 32 | {a.Burst / a.Drained.TotalSeconds:0} | | |").AppendLine();
        md.AppendLine();
    }

    private static void Sources(StringBuilder md, SourcesResult s)
    {
        var ci = CultureInfo.InvariantCulture;
        md.AppendLine("### Event sources").AppendLine();
        md.AppendLine("Writes to the built-in queue (SQS JSON protocol) and stream (Kinesis JSON protocol), each answered after its own SQLite commit (WAL, synchronous=NORMAL; no group commit), from `c` loops for the cell's duration. Then a backlog is written first and an event source mapping created to a python3.12 function that counts its records; timed from the CreateEventSourceMapping call until every message is deleted (SQS) or every record has been through the function (Kinesis, counted from the function's log).").AppendLine();
        md.AppendLine("| measurement | c | rate /s | p50 ms | p99 ms |").AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var p in s.Puts)
        {
            var errors = p.Errors > 0 ? $" ({p.Errors} failed)" : "";
            md.Append(ci, $"| {p.Label}{errors} | {p.Concurrency} | {p.PerSecond:0} | {Stats.Ms(p.Latency.P50)} | {Stats.Ms(p.Latency.P99)} |").AppendLine();
        }

        foreach (var d in s.Deliveries)
        {
            md.Append(ci, $"| {d.Label}: {d.Count} in {d.Elapsed.TotalSeconds:0.00} s | | {d.PerSecond:0} | | |").AppendLine();
        }

        md.AppendLine();
    }

    private static void Warm(StringBuilder md, List<WarmCell> warm, WarmBreakdown? breakdown)
    {
        var ci = CultureInfo.InvariantCulture;
        md.AppendLine("### Warm synchronous invoke").AppendLine();
        md.AppendLine("`POST /2015-03-31/functions/NAME/invocations` with `{\"hello\":\"world\"}` to a python3.12 `def handler(e, c): return e`, against the floor: the same client code posting the same body to a bare Kestrel endpoint in the benchmark process that echoes it back. The DryRun row is the same request with `X-Amz-Invocation-Type: DryRun`: Kestrel, the API and the function lookup, no sandbox. Latency is per request, client side; `c` loops each send their own requests back to back over one shared HttpClient. The three targets of a concurrency are measured in interleaved rounds, so machine noise falls on all three alike. CPU per request (user + system, from /proc over the measured run, 10 ms ticks): `bench` is this process (client, and for the Kestrel rows the echo server too), `server` is `hayate serve`, `sandbox` every process under it (bwrap, python).").AppendLine();
        md.AppendLine("| target | c | requests | req/s | p50 ms | p90 ms | p99 ms | p50 / Kestrel p50 | CPU ms/req bench | server | sandbox |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (kestrel, dryRun, hayate) in warm)
        {
            foreach (var result in new[] { kestrel, dryRun, hayate })
            {
                var errors = result.Errors > 0 ? $" ({result.Errors} failed)" : "";
                md.Append(ci, $"| {result.Target} | {result.Concurrency} | {result.Requests}{errors} | {result.RequestsPerSecond:0} | {Stats.Ms(result.Latency.P50)} | {Stats.Ms(result.Latency.P90)} | {Stats.Ms(result.Latency.P99)} | {Stats.Ratio(result.Latency.P50 / kestrel.Latency.P50)} | {Stats.Ms(result.CpuPerRequest.Bench)} | {Stats.Ms(result.CpuPerRequest.Server)} | {Stats.Ms(result.CpuPerRequest.Sandboxes)} |").AppendLine();
            }
        }

        md.AppendLine();
        var restarts = warm.SelectMany(c => new[] { c.Kestrel, c.DryRun, c.Hayate }).Where(r => r.RuntimesStarted > 0).ToList();
        md.AppendLine(restarts.Count == 0
            ? "No new sandbox runtime process appeared under the server during the measured warm runs."
            : "New sandbox runtime processes that appeared under the server during the measured warm runs (each one a cold start inside a warm measurement): "
              + string.Join(", ", restarts.Select(r => string.Create(ci, $"{r.Target} c={r.Concurrency}: {r.RuntimesStarted}"))) + ".");
        md.AppendLine();
        if (breakdown is null)
        {
            return;
        }

        md.Append(ci, $"Where a sequential warm invoke's time goes ({breakdown.Wall.Count} invokes with `X-Amz-Log-Type: Tail`, one after another): the REPORT `Duration` is the server's clock from handing the event to the runtime's pending `GET /next` to the runtime's `POST /response`; the rest is the client, Kestrel, the API, the invoker and the sandbox pool.").AppendLine().AppendLine();
        md.AppendLine("| per invoke | p50 ms | p90 ms | p99 ms |");
        md.AppendLine("| --- | ---: | ---: | ---: |");
        md.Append(ci, $"| client wall clock | {Stats.Ms(breakdown.Wall.P50)} | {Stats.Ms(breakdown.Wall.P90)} | {Stats.Ms(breakdown.Wall.P99)} |").AppendLine();
        md.Append(ci, $"| REPORT Duration (Runtime API round trip + handler) | {Stats.Ms(breakdown.ReportDuration.P50)} | {Stats.Ms(breakdown.ReportDuration.P90)} | {Stats.Ms(breakdown.ReportDuration.P99)} |").AppendLine();
        md.Append(ci, $"| wall clock − Duration (outside the sandbox) | {Stats.Ms(breakdown.Outside.P50)} | {Stats.Ms(breakdown.Outside.P90)} | {Stats.Ms(breakdown.Outside.P99)} |").AppendLine();
        md.AppendLine();
    }

    private static void Cold(StringBuilder md, List<ColdStartResult> cold, List<ProcessFloor> floors)
    {
        var ci = CultureInfo.InvariantCulture;
        md.AppendLine("### Cold start").AppendLine();
        md.AppendLine("The first invoke of a new function (client wall clock; CreateFunction has already answered). From its REPORT line (log tail): `Init Duration`, from just before the server spawns the sandbox to the runtime's first `GET /next`, and `Duration`, the handler's run; `rest` is first invoke − Init Duration − Duration (client, API, invoker). Also the CreateFunction latency and the second (warm) invoke of the same function. `vs floor` divides the first-invoke p50 by the p50 of the matching bubblewrap process floor below.").AppendLine();
        md.AppendLine("| runtime | N | first invoke p50 ms | min | max | vs floor | Init Duration p50 | Duration p50 | rest p50 | CreateFunction p50 | second invoke p50 |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var c in cold)
        {
            var floor = FloorFor(c.Runtime, floors);
            var vs = floor is null ? "n/a" : Stats.Ratio(c.FirstInvoke.P50 / floor.Times.P50) + " (" + floor.Label + ")";
            md.Append(ci, $"| {c.Label} | {c.FirstInvoke.Count} | {Stats.Ms(c.FirstInvoke.P50)} | {Stats.Ms(c.FirstInvoke.Min)} | {Stats.Ms(c.FirstInvoke.Max)} | {vs} | {Stats.Ms(c.InitDuration.P50)} | {Stats.Ms(c.ReportDuration.P50)} | {Stats.Ms(c.Outside.P50)} | {Stats.Ms(c.Create.P50)} | {Stats.Ms(c.SecondInvoke.P50)} |").AppendLine();
        }

        md.AppendLine();
    }

    private static void Floors(StringBuilder md, List<ProcessFloor> floors)
    {
        var ci = CultureInfo.InvariantCulture;
        md.AppendLine("### Process floors").AppendLine();
        md.AppendLine("Each command started from the benchmark with Process.Start and waited for: one untimed run of each at the start, then N rounds in which every command runs once, each round just before a round of the cold starts above (interleaved, so the cold starts and their floors see the same machine). The bubblewrap arguments: `" + string.Join(' ', ProcessFloors.BwrapArguments) + "`. `bash exec bwrap` puts bash in front of bubblewrap, as Hayate's launcher does. The `bootstrap` rows start Hayate's own runtime bootstraps (runtimes/) in such a sandbox, without `--unshare-net` and with the code at /var/task, and time them to the head of their first `GET /next` on a listener of the benchmark's: the runtime's own init, without Hayate's launcher, cgroups or Runtime API server.").AppendLine();
        md.AppendLine("| process | N | p50 ms | min | max |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: |");
        foreach (var f in floors)
        {
            md.Append(ci, $"| {f.Label} | {f.Times.Count} | {Stats.Ms(f.Times.P50)} | {Stats.Ms(f.Times.Min)} | {Stats.Ms(f.Times.Max)} |").AppendLine();
        }

        md.AppendLine();
    }

    private static void Targets(StringBuilder md, List<WarmCell> warm, List<ColdStartResult> cold, List<ProcessFloor> floors)
    {
        var ci = CultureInfo.InvariantCulture;
        var python = cold.FirstOrDefault(c => c.Runtime.StartsWith("python", StringComparison.Ordinal));
        var pythonFloor = floors.FirstOrDefault(f => f.Label == PythonFloor);
        if (warm.Count == 0 && (python is null || pythonFloor is null))
        {
            return;
        }

        md.AppendLine("### Targets").AppendLine();
        md.AppendLine("| target | measured | limit | met |");
        md.AppendLine("| --- | ---: | ---: | --- |");
        foreach (var (kestrel, _, hayate) in warm)
        {
            var ratio = hayate.Latency.P50 / kestrel.Latency.P50;
            md.Append(ci, $"| warm invoke p50 / bare Kestrel p50, c={hayate.Concurrency} | {Stats.Ratio(ratio)} ({Stats.Ms(hayate.Latency.P50)} / {Stats.Ms(kestrel.Latency.P50)} ms) | 4x | {(ratio <= 4 ? "yes" : "**no**")} |").AppendLine();
        }

        if (python is not null && pythonFloor is not null)
        {
            var ratio = python.FirstInvoke.P50 / pythonFloor.Times.P50;
            md.Append(ci, $"| python cold start p50 / bwrap python3 p50 | {Stats.Ratio(ratio)} ({Stats.Ms(python.FirstInvoke.P50)} / {Stats.Ms(pythonFloor.Times.P50)} ms) | 2x | {(ratio <= 2 ? "yes" : "**no**")} |").AppendLine();
        }

        md.AppendLine();
    }

    private static ProcessFloor? FloorFor(string runtime, List<ProcessFloor> floors) =>
        runtime.StartsWith("python", StringComparison.Ordinal) ? floors.FirstOrDefault(f => f.Label == PythonFloor)
        : runtime.StartsWith("nodejs", StringComparison.Ordinal) ? floors.FirstOrDefault(f => f.Label == NodeFloor)
        : floors.FirstOrDefault(f => f.Label == BashFloor);
}

/// <summary>The asynchronous section: SQLite floors, accept rates per concurrency, and a burst's delivery.</summary>
internal sealed record AsyncResult(double FloorFull, double FloorNormal, List<LoadResult> Accepts, int Burst, TimeSpan Accepted, TimeSpan Drained);
