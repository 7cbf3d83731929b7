using Hayate.Bench;

// The end-to-end benchmark: a real `hayate serve`, real sandboxes, a real HTTP client.
// Markdown report on stdout, progress on stderr. See docs/benchmarks.md for the figures.
BenchOptions options;
try
{
    options = BenchOptions.Parse(args);
}
catch (HelpRequestedException)
{
    Console.WriteLine(BenchOptions.Usage);
    return 0;
}
catch (Exception ex) when (ex is ArgumentException or FormatException)
{
    await Console.Error.WriteLineAsync("bench: " + ex.Message);
    await Console.Error.WriteLineAsync(BenchOptions.Usage);
    return 2;
}

var dll = options.HayateDll ?? FindHayateDll();
if (dll is null || !File.Exists(dll))
{
    await Console.Error.WriteLineAsync($"bench: {dll ?? "src/Hayate/bin/Release/net10.0/hayate.dll"} not found.");
    await Console.Error.WriteLineAsync("bench: build the server first:  dotnet build src/Hayate -c Release");
    return 2;
}

var commandLine = "dotnet run -c Release --project bench/Hayate.Bench" + (args.Length == 0 ? "" : " -- " + string.Join(' ', args));
var machine = Machine.Describe().ToList();
machine.Add(("load average at start (1/5/15 min)", Machine.LoadAverage()));
Progress($"{commandLine}\n  server: {dll}");

// 1. Process floors: prepared (one untimed run each) now; their timed runs are interleaved with
// the cold starts below, so that both see the same machine.
using var floorSet = options.Runs(BenchOptions.Floors) ? new ProcessFloors() : null;
if (floorSet is not null)
{
    var commands = await floorSet.PrepareAsync(Path.Combine(Path.GetDirectoryName(dll)!, "runtimes"));
    Progress($"floors: {commands.Count} commands: {string.Join("; ", commands.Select(c => c.Label))}");
}

using var runner = new LoadRunner();
await using var echo = await EchoServer.StartAsync();
Progress($"kestrel echo on {echo.Uri}");
await using var server = await HayateServer.StartAsync(dll, options.ServerEnvironment);
Progress($"hayate on {server.Endpoint} (working directory {server.WorkingDirectory})");
var serverLines = server.StartupLines.ToList();
var lambda = new LambdaClient(runner.Http, server.Endpoint);

// 2. Warm synchronous invokes against the bare Kestrel floor, at concurrency 1 and 8.
var warm = new List<WarmCell>();
WarmBreakdown? warmBreakdown = null;
if (options.Runs(BenchOptions.Warm))
{
    var warmStart = CpuTime.Take(server.ProcessId);
    const string warmName = "bench-echo";
    await lambda.CreateFunctionAsync(warmName, "python3.12", "app.handler", Packages.EchoPython);
    var check = await lambda.InvokeAsync(warmName, LoadRunner.Payload);
    if (!check.Ok)
    {
        throw new InvalidOperationException($"the warm function failed: {check.Status} {check.FunctionError} {check.Body}\n{check.Log}");
    }

    // Tiered JIT, connections and sandboxes: both servers and the client run every path first,
    // so the first cells do not pay for what the later ones get for free.
    Progress($"warm: warming up Kestrel, DryRun and invoke, {options.WarmUp.TotalSeconds}s each at concurrency 8 then 1");
    foreach (var concurrency in new[] { 8, 1 })
    {
        await runner.WarmUpAsync(echo.Uri, concurrency, options.WarmUp);
        await runner.WarmUpAsync(lambda.InvokeUri(warmName), concurrency, options.WarmUp, "DryRun");
        await runner.WarmUpAsync(lambda.InvokeUri(warmName), concurrency, options.WarmUp);
    }

    LoadTarget[] targets =
    [
        new("bare Kestrel echo", echo.Uri, null),
        new("Hayate DryRun invoke (API only, no sandbox)", lambda.InvokeUri(warmName), "DryRun"),
        new("Hayate invoke (python3.12)", lambda.InvokeUri(warmName), null),
    ];
    foreach (var concurrency in new[] { 1, 8 })
    {
        Progress($"warm: concurrency {concurrency}: {string.Join(", ", targets.Select(t => t.Label))}, {options.Duration.TotalSeconds}s each in {options.Rounds} interleaved rounds");
        var results = await runner.RunInterleavedAsync(targets, concurrency, options.Duration, options.Rounds, () => CpuTime.Take(server.ProcessId));
        foreach (var result in results)
        {
            var cpu = result.CpuPerRequest;
            Progress($"  {result.Target}: p50 {Stats.Ms(result.Latency.P50)} ms, p99 {Stats.Ms(result.Latency.P99)} ms, {result.RequestsPerSecond:0} req/s; CPU ms/request: bench {Stats.Ms(cpu.Bench)}, server {Stats.Ms(cpu.Server)}, sandboxes {Stats.Ms(cpu.Sandboxes)}; runtimes started during it: {result.RuntimesStarted}");
        }

        warm.Add(new WarmCell(results[0], results[1], results[2]));
    }

    // Where a warm invoke's time goes: the client's wall clock against the REPORT line's Duration
    // (the server's clock from handing the event to the runtime to its response).
    var breakdownCount = options.Quick ? 50 : 300;
    Progress($"warm breakdown: {breakdownCount} sequential invokes with the log tail");
    var breakdown = new List<TimedInvoke>();
    for (var i = 0; i < breakdownCount; i++)
    {
        breakdown.Add(await lambda.InvokeAsync(warmName, LoadRunner.Payload));
    }

    warmBreakdown = new WarmBreakdown(
        new Stats(breakdown.Select(b => b.WallMs)),
        new Stats(breakdown.Select(b => b.DurationMs)),
        new Stats(breakdown.Select(b => b.WallMs - b.DurationMs)));
    machine.Add(("CPU used outside the benchmark's processes during the warm section", OthersText(warmStart, CpuTime.Take(server.ProcessId))));
}

// 3. Routing: an alias with weights against $LATEST, and a throttled invoke (reserved concurrency 0).
var routing = new List<(LoadResult Result, LoadResult Latest)>();
if (options.Runs(BenchOptions.Routing))
{
    const string routeName = "bench-route";
    const string throttledName = "bench-throttled";
    await lambda.CreateFunctionAsync(routeName, "python3.12", "app.handler", Packages.EchoPython);
    await lambda.CallAsync(HttpMethod.Post, $"2015-03-31/functions/{routeName}/versions", [], 201);
    await lambda.CallAsync(HttpMethod.Put, $"2015-03-31/functions/{routeName}/configuration", new() { ["Description"] = "v2" }, 200);
    await lambda.CallAsync(HttpMethod.Post, $"2015-03-31/functions/{routeName}/versions", [], 201);
    await lambda.CallAsync(HttpMethod.Post, $"2015-03-31/functions/{routeName}/aliases", new()
    {
        ["Name"] = "live",
        ["FunctionVersion"] = "1",
        ["RoutingConfig"] = new System.Text.Json.Nodes.JsonObject { ["AdditionalVersionWeights"] = new System.Text.Json.Nodes.JsonObject { ["2"] = 0.3 } },
    }, 201);
    await lambda.CallAsync(HttpMethod.Post, $"2015-03-31/functions/{routeName}/aliases", new() { ["Name"] = "plain", ["FunctionVersion"] = "2" }, 201);
    await lambda.CreateFunctionAsync(throttledName, "python3.12", "app.handler", Packages.EchoPython);
    await lambda.CallAsync(HttpMethod.Put, $"2017-10-31/functions/{throttledName}/concurrency", new() { ["ReservedConcurrentExecutions"] = 0 }, 200);

    LoadTarget[] routeTargets =
    [
        new("Hayate invoke $LATEST (python3.12)", lambda.InvokeUri(routeName), null),
        new("Hayate invoke alias, weights 0.7 / 0.3 over versions 1 and 2", lambda.InvokeUri(routeName + ":live"), null),
        new("Hayate invoke alias without weights (version 2 only)", lambda.InvokeUri(routeName + ":plain"), null),
        new("Hayate invoke throttled (reserved concurrency 0, 429)", lambda.InvokeUri(throttledName), null, 429),
    ];
    Progress($"routing: warming up $LATEST, the alias and the throttled function, {options.WarmUp.TotalSeconds}s each at concurrency 8 then 1");
    foreach (var concurrency in new[] { 8, 1 })
    {
        foreach (var target in routeTargets)
        {
            await runner.WarmUpAsync(target.Uri, concurrency, options.WarmUp, null, target.ExpectedStatus);
        }
    }

    foreach (var concurrency in new[] { 1, 8 })
    {
        Progress($"routing: concurrency {concurrency}, {options.Duration.TotalSeconds}s per target in {options.Rounds} interleaved rounds");
        var results = await runner.RunInterleavedAsync(routeTargets, concurrency, options.Duration, options.Rounds, () => CpuTime.Take(server.ProcessId));
        foreach (var result in results)
        {
            Progress($"  {result.Target}: p50 {Stats.Ms(result.Latency.P50)} ms, p99 {Stats.Ms(result.Latency.P99)} ms, {result.RequestsPerSecond:0} req/s, server CPU {Stats.Ms(result.CpuPerRequest.Server)} ms/request");
        }

        routing.AddRange(results.Select(r => (r, results[0])));
    }
}

// 4. Asynchronous events: accepted per second (each 202 after a durable commit) and delivered per
// second, against SQLite's own rate of one committed insert per transaction on the same disk.
AsyncResult? asyncResult = null;
if (options.Runs(BenchOptions.Async))
{
    const string asyncName = "bench-async";
    await lambda.CreateFunctionAsync(asyncName, "python3.12", "app.handler", Packages.EchoPython);
    var eventTarget = new LoadTarget("Hayate Event invoke (202 after a durable append)", lambda.InvokeUri(asyncName), "Event", 202);
    Progress($"async: SQLite floors, {options.Duration.TotalSeconds}s each");
    var floorFull = await SqliteFloor.InsertsPerSecondAsync(fullSync: true, options.Duration);
    var floorNormal = await SqliteFloor.InsertsPerSecondAsync(fullSync: false, options.Duration);
    Progress($"  one insert per transaction: {floorFull:0}/s with synchronous=FULL, {floorNormal:0}/s with NORMAL");
    await runner.WarmUpAsync(eventTarget.Uri, 8, options.WarmUp, "Event", 202);
    await lambda.WaitForAsyncDrainAsync(TimeSpan.FromMinutes(5));

    // Accepting alone: with reserved concurrency 0 nothing runs, so deliveries do not take the CPU
    // from the accepts; the events wait in the journal (throttled) until the reservation goes.
    await lambda.CallAsync(HttpMethod.Put, $"2017-10-31/functions/{asyncName}/concurrency", new() { ["ReservedConcurrentExecutions"] = 0 }, 200);
    var accepts = new List<LoadResult>();
    foreach (var concurrency in new[] { 1, 8, 32, 64 })
    {
        var result = (await runner.RunInterleavedAsync([eventTarget], concurrency, options.Duration, 1, () => CpuTime.Take(server.ProcessId)))[0];
        Progress($"  accept, c={concurrency}: {result.RequestsPerSecond:0}/s, p50 {Stats.Ms(result.Latency.P50)} ms, p99 {Stats.Ms(result.Latency.P99)} ms, server CPU {Stats.Ms(result.CpuPerRequest.Server)} ms/event");
        accepts.Add(result);
    }

    Progress("async: releasing the backlog and waiting until it has run");
    using (var release = new HttpRequestMessage(HttpMethod.Delete, new Uri(server.Endpoint, $"2017-10-31/functions/{asyncName}/concurrency")))
    using (var released = await runner.Http.SendAsync(release))
    {
        released.EnsureSuccessStatusCode();
    }

    await lambda.WaitForAsyncDrainAsync(TimeSpan.FromMinutes(15));

    // Delivery: a burst of events, timed from its first send until the queue is empty.
    var burst = options.Quick ? 2000 : 10_000;
    Progress($"async: delivery of a burst of {burst} events at c = 32");
    var delivery = await runner.BurstAsync(eventTarget, burst, 32, () => lambda.WaitForAsyncDrainAsync(TimeSpan.FromMinutes(10)));
    Progress($"  {burst} events accepted in {delivery.Accepted.TotalSeconds:0.00} s, all run after {delivery.Drained.TotalSeconds:0.00} s: {burst / delivery.Drained.TotalSeconds:0}/s delivered");
    asyncResult = new AsyncResult(floorFull, floorNormal, accepts, burst, delivery.Accepted, delivery.Drained);
}

// 5. Event sources: writes to the built-in queue and stream, and mappings draining a backlog into a function.
SourcesResult? sourcesResult = null;
if (options.Runs(BenchOptions.Sources))
{
    Progress($"sources: SendMessage and PutRecord, {options.Duration.TotalSeconds}s per cell");
    sourcesResult = await new SourcesBench(runner.Http, server.Endpoint, lambda, Progress).RunAsync(options);
}

// 6. Cold starts: the first invoke of each of N new functions per runtime.
var cold = new List<ColdStartResult>();
var coldFailures = new List<string>();
var coldStart = CpuTime.Take(server.ProcessId);
if (options.Runs(BenchOptions.Cold))
{
    // Create every function first (CreateFunction is timed too), then take the first invoke of
    // each in rounds, one function of every runtime per round, so noise falls on all runtimes alike.
    var kinds = Packages.ColdStartFunctions;
    var names = kinds.Select(_ => new List<string>()).ToArray();
    var creates = kinds.Select(_ => new List<double>()).ToArray();
    Progress($"cold: creating {options.ColdCount} functions for each of {string.Join(", ", kinds.Select(k => k.Label))}");
    for (var i = 0; i < options.ColdCount; i++)
    {
        for (var k = 0; k < kinds.Length; k++)
        {
            var name = $"bench-cold-{k}-{i}-{Guid.NewGuid().ToString("N")[..8]}";
            creates[k].Add(await lambda.CreateFunctionAsync(name, kinds[k].Runtime, kinds[k].Handler, kinds[k].Zip));
            names[k].Add(name);
        }
    }

    await Task.Delay(500);
    var firsts = kinds.Select(_ => new List<TimedInvoke>()).ToArray();
    var seconds = kinds.Select(_ => new List<TimedInvoke>()).ToArray();
    for (var i = 0; i < options.ColdCount; i++)
    {
        if (floorSet is not null)
        {
            Progress($"  floors, round {i + 1}");
            await floorSet.RoundAsync();
        }

        for (var k = 0; k < kinds.Length; k++)
        {
            var name = names[k][i];
            var first = await lambda.InvokeAsync(name, LoadRunner.Payload);
            if (!first.Ok || double.IsNaN(first.InitDurationMs))
            {
                // Reported, left out of the figures, and the run goes on.
                var failure = $"cold invoke of {name} ({kinds[k].Runtime}) was not a successful cold start: HTTP {first.Status} {first.FunctionError} {first.Body} {first.Log}".ReplaceLineEndings(" ");
                coldFailures.Add($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {failure}");
                Progress("  " + failure);
                continue;
            }

            var second = await lambda.InvokeAsync(name, LoadRunner.Payload);
            firsts[k].Add(first);
            seconds[k].Add(second);
            Progress($"  {name} ({kinds[k].Runtime}): create {Stats.Ms(creates[k][i])} ms, first invoke {Stats.Ms(first.WallMs)} ms (Init Duration {Stats.Ms(first.InitDurationMs)} ms, Duration {Stats.Ms(first.DurationMs)} ms), second {Stats.Ms(second.WallMs)} ms");
            await Task.Delay(200);
        }
    }

    for (var k = 0; k < kinds.Length; k++)
    {
        cold.Add(new ColdStartResult(
            kinds[k].Label,
            kinds[k].Runtime,
            new Stats(creates[k]),
            new Stats(firsts[k].Select(f => f.WallMs)),
            new Stats(firsts[k].Select(f => f.InitDurationMs)),
            new Stats(firsts[k].Select(f => f.DurationMs)),
            new Stats(firsts[k].Select(f => f.WallMs - f.InitDurationMs - f.DurationMs)),
            new Stats(seconds[k].Select(s => s.WallMs))));
    }
}

var floors = new List<ProcessFloor>();
if (floorSet is not null)
{
    if (!options.Runs(BenchOptions.Cold))
    {
        for (var i = 0; i < options.ColdCount; i++)
        {
            await floorSet.RoundAsync();
        }
    }

    floors = floorSet.Results();
    foreach (var floor in floors)
    {
        Progress($"floor: {floor.Label}: p50 {Stats.Ms(floor.Times.P50)} ms");
    }
}

if (options.Runs(BenchOptions.Cold) || floorSet is not null)
{
    machine.Add(("CPU used outside the benchmark's processes during the cold starts and floors", OthersText(coldStart, CpuTime.Take(server.ProcessId))));
}

machine.Add(("load average at end (1/5/15 min)", Machine.LoadAverage()));
var serverProblems = server.Problems;
foreach (var problem in serverProblems)
{
    Progress("server: " + problem);
}

Progress("stopping the server");
await server.DisposeAsync();

Console.Write(Report.Render(commandLine, options, machine, serverLines, warm, warmBreakdown, routing, asyncResult, sourcesResult, cold, floors, runner.Failures.Concat(coldFailures).Concat(serverProblems.Select(p => "server log: " + p)).ToList()));
return 0;

static string OthersText(CpuSnapshot before, CpuSnapshot after) =>
    string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{CpuSnapshot.OthersPercent(before, after):0}% of all CPUs: other processes, and kernel threads (some of it ours: namespace and cgroup teardown); from /proc/stat minus the benchmark, the server and their children");

static void Progress(string line) => Console.Error.WriteLine("bench: " + line);

static string? FindHayateDll()
{
    foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Hayate.slnx")))
            {
                return Path.Combine(dir.FullName, "src", "Hayate", "bin", "Release", "net10.0", "hayate.dll");
            }
        }
    }

    return null;
}
