using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Hayate.Bench;

/// <summary>The result of one timed invoke, with what its REPORT line says.</summary>
internal sealed record TimedInvoke(double WallMs, int Status, string? FunctionError, string Body, string Log)
{
    /// <summary>"Init Duration: X ms" from the REPORT line; NaN when there is none (not a cold start).</summary>
    public double InitDurationMs => ReportField(Log, "Init Duration");

    /// <summary>"Duration: X ms" from the REPORT line (the handler's run, as the server measured it).</summary>
    public double DurationMs => ReportField(Log, "Duration");

    public bool Ok => Status == 200 && FunctionError is null;

    private static double ReportField(string log, string name)
    {
        var match = Regex.Match(log, "(?:^|\\t|\\s)" + Regex.Escape(name) + ": ([0-9.]+) ms", RegexOptions.CultureInvariant);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
    }
}

/// <summary>The Lambda API calls the benchmark needs, over the raw wire protocol.</summary>
internal sealed class LambdaClient(HttpClient http, Uri endpoint)
{
    public Uri InvokeUri(string name) => new(endpoint, $"2015-03-31/functions/{Uri.EscapeDataString(name)}/invocations");

    /// <summary>CreateFunction; returns its wall-clock latency in milliseconds.</summary>
    public async Task<double> CreateFunctionAsync(string name, string runtime, string handler, byte[] zip)
    {
        var body = new JsonObject
        {
            ["FunctionName"] = name,
            ["Runtime"] = runtime,
            ["Handler"] = handler,
            ["Role"] = "arn:aws:iam::000000000000:role/bench",
            ["Timeout"] = 30,
            ["MemorySize"] = 128,
            ["Code"] = new JsonObject { ["ZipFile"] = Convert.ToBase64String(zip) },
        };
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var started = Stopwatch.GetTimestamp();
        using var response = await http.PostAsync(new Uri(endpoint, "2015-03-31/functions"), content);
        var text = await response.Content.ReadAsStringAsync();
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"CreateFunction {name} answered {(int)response.StatusCode}: {text}");
        }

        return elapsed;
    }

    /// <summary>A control-plane call with a JSON body; fails the run unless it answers <paramref name="status"/>.</summary>
    public async Task<JsonNode?> CallAsync(HttpMethod method, string path, JsonObject body, int status)
    {
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(method, new Uri(endpoint, path)) { Content = content };
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode != status)
        {
            throw new InvalidOperationException($"{method} {path} answered {(int)response.StatusCode}: {text}");
        }

        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    /// <summary>Waits until the server's asynchronous queue is empty (GET /_hayate/async).</summary>
    public async Task WaitForAsyncDrainAsync(TimeSpan timeout)
    {
        var started = Stopwatch.GetTimestamp();
        while (true)
        {
            var state = JsonNode.Parse(await http.GetStringAsync(new Uri(endpoint, "_hayate/async")))!;
            if (state["pending"]!.GetValue<long>() == 0)
            {
                return;
            }

            if (Stopwatch.GetElapsedTime(started) > timeout)
            {
                throw new TimeoutException($"the asynchronous queue still holds {state["pending"]} events after {timeout}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>A synchronous invoke with the log tail, timed on the client's wall clock.</summary>
    public async Task<TimedInvoke> InvokeAsync(string name, byte[] payload)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, InvokeUri(name)) { Content = new ByteArrayContent(payload) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-Amz-Invocation-Type", "RequestResponse");
        request.Headers.Add("X-Amz-Log-Type", "Tail");
        var started = Stopwatch.GetTimestamp();
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        var text = await response.Content.ReadAsStringAsync();
        var wall = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var log = response.Headers.TryGetValues("X-Amz-Log-Result", out var values)
            ? Encoding.UTF8.GetString(Convert.FromBase64String(values.First()))
            : "";
        var error = response.Headers.TryGetValues("X-Amz-Function-Error", out var errors) ? errors.First() : null;
        return new TimedInvoke(wall, (int)response.StatusCode, error, text, log);
    }
}

/// <summary>Deployment packages, built in memory with Unix modes (0755 makes a bootstrap executable).</summary>
internal static class Packages
{
    public static byte[] Zip(params (string Name, string Content)[] files)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                var entry = archive.CreateEntry(name);
                var mode = name.EndsWith("bootstrap", StringComparison.Ordinal) ? 0x1ED : 0x1A4;
                entry.ExternalAttributes = (0x8000 | mode) << 16;
                using var stream = entry.Open();
                stream.Write(Encoding.UTF8.GetBytes(content));
            }
        }

        return buffer.ToArray();
    }

    /// <summary>A minimal custom runtime in bash over /dev/tcp (as in test/Hayate.IntegrationTests/InvokeTests.cs).</summary>
    public const string ShellBootstrap = """
        #!/bin/bash
        # Written from the Lambda docs: loop on /next, answer /response.
        set -euo pipefail
        HOST=${AWS_LAMBDA_RUNTIME_API%:*}
        PORT=${AWS_LAMBDA_RUNTIME_API#*:}
        echo "custom runtime init"
        while true; do
          exec 3<>/dev/tcp/$HOST/$PORT
          printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$AWS_LAMBDA_RUNTIME_API" >&3
          REQUEST_ID=""
          LENGTH=0
          while IFS= read -r line <&3; do
            line=${line%$'\r'}
            [ -z "$line" ] && break
            case "${line,,}" in
              lambda-runtime-aws-request-id:*) REQUEST_ID=${line#*: } ;;
              content-length:*) LENGTH=${line#*: } ;;
            esac
          done
          EVENT=$(head -c "$LENGTH" <&3)
          exec 3<&-
          echo "handling $REQUEST_ID"
          RESPONSE="{\"echo\":$EVENT,\"handler\":\"$_HANDLER\"}"
          exec 3<>/dev/tcp/$HOST/$PORT
          printf 'POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "$REQUEST_ID" "$AWS_LAMBDA_RUNTIME_API" "${#RESPONSE}" "$RESPONSE" >&3
          cat <&3 >/dev/null
          exec 3<&-
        done
        """;

    /// <summary>The functions whose cold start is measured: runtime, handler, package.</summary>
    public static readonly (string Label, string Runtime, string Handler, byte[] Zip)[] ColdStartFunctions =
    [
        ("python3.12", "python3.12", "app.handler", Zip(("app.py", "def handler(e, c):\n    return 1\n"))),
        ("nodejs20.x", "nodejs20.x", "index.handler", Zip(("index.js", "exports.handler = async () => 1;\n"))),
        ("provided.al2023 (bash bootstrap)", "provided.al2023", "whatever.handler", Zip(("bootstrap", ShellBootstrap))),
    ];

    /// <summary>The warm function: echoes its event.</summary>
    public static readonly byte[] EchoPython = Zip(("app.py", "def handler(e, c):\n    return e\n"));
}
