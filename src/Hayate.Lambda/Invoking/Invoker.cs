using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hayate.Kernel.Errors;
using Hayate.Lambda.Concurrency;
using Hayate.Lambda.Functions;
using Hayate.Lambda.Logging;
using Hayate.Sandboxes;
using Hayate.Sandboxes.Isolation;
using Hayate.Sandboxes.Pooling;

namespace Hayate.Lambda.Invoking;

public enum InvocationType
{
    RequestResponse,
    Event,
    DryRun,
}

/// <summary>An Invoke call as the API received it.</summary>
public sealed record InvokeCall(FunctionRef Function, InvocationType Type, byte[] Payload, bool TailLog, string? ClientContextBase64)
{
    /// <summary>The invocation's request id: the API request's own, as on Lambda (a new one when not given).</summary>
    public string RequestId { get; init; } = Invoker.NewRequestId();
}

/// <summary>What Invoke answers: status, payload, and the headers Lambda sets.</summary>
public sealed record InvokeOutcome(int StatusCode, ReadOnlyMemory<byte> Payload, string? FunctionError, string? LogResult, string ExecutedVersion);

/// <summary>
/// The Invocation layer: resolves the function, admits the call against the concurrency limit,
/// runs it now (sync) or queues it (async), and writes START/END/REPORT and the function's output.
/// </summary>
public sealed class Invoker(FunctionManager functions, ISandboxHost sandboxes, ConcurrencyLimiter limiter, FunctionLogWriter logs, TimeProvider time)
{
    private const int TailBytes = 4096;
    private const int MaxClientContextBytes = 3583;
    private readonly ConcurrentDictionary<string, SandboxSpec> _specs = new(StringComparer.Ordinal);
    private AsyncEventQueue? _queue;

    /// <summary>Set once by the composition root; the queue calls back into <see cref="RunAsync"/>.</summary>
    public void AttachQueue(AsyncEventQueue queue) => _queue = queue;

    public async Task<Result<InvokeOutcome>> InvokeAsync(InvokeCall call, CancellationToken cancellationToken)
    {
        var limit = call.Type == InvocationType.Event ? Limits.MaxAsyncPayload : Limits.MaxSyncPayload;
        if (call.Payload.Length > limit)
        {
            return AwsErrors.RequestTooLarge($"Request must be smaller than {limit} bytes for the InvokeFunction operation");
        }

        var resolved = await functions.ResolveForInvokeAsync(call.Function, cancellationToken);
        if (!resolved.Ok)
        {
            return resolved.Error;
        }

        var payload = call.Payload.Length == 0 ? "{}"u8.ToArray() : call.Payload;
        if (!IsJson(payload))
        {
            return AwsErrors.InvalidRequestContent("Could not parse request body into json: Could not parse payload into json: Unexpected character: was expecting a JSON value");
        }

        string? clientContext = null;
        if (call.ClientContextBase64 is { Length: > 0 } encoded)
        {
            clientContext = DecodeClientContext(encoded);
            if (clientContext is null)
            {
                return AwsErrors.InvalidRequestContent("Client context must be a valid Base64-encoded JSON object.");
            }
        }

        var function = resolved.Value;
        if (await functions.CheckEnvironmentAsync(function, cancellationToken) is { } kms)
        {
            return kms;
        }

        switch (call.Type)
        {
            case InvocationType.DryRun:
                return new InvokeOutcome(204, ReadOnlyMemory<byte>.Empty, null, null, function.Version);
            case InvocationType.Event:
                // 202 only once the event is durable in the journal.
                await _queue!.EnqueueAsync(function.Name, call.Function.Qualifier, call.RequestId, payload, clientContext, cancellationToken);
                return new InvokeOutcome(202, ReadOnlyMemory<byte>.Empty, null, null, function.Version);
        }

        if (limiter.TryAcquire(function.Name) is not { } pool)
        {
            return Throttled(function.Name);
        }

        try
        {
            var invokedArn = functions.ArnOf(function.Name, call.Function.Qualifier);
            var (outcome, _) = await RunAsync(function, invokedArn, call.RequestId, payload, clientContext, call.TailLog, cancellationToken);
            return outcome;
        }
        finally
        {
            pool.Release();
        }
    }

    /// <summary>429 with the reason Lambda gives: the function's reservation, or the account's pool.</summary>
    private AwsError Throttled(string functionName) => limiter.ReservedFor(functionName) is null
        ? LambdaErrors.Throttled("ConcurrentInvocationLimitExceeded", "Rate Exceeded.")
        : LambdaErrors.Throttled("ReservedFunctionConcurrentInvocationLimitExceeded", "Rate Exceeded.");

    /// <summary>Runs one invocation in a sandbox and logs it. The caller holds a concurrency slot.</summary>
    internal async Task<(InvokeOutcome Outcome, SandboxResult? Result)> RunAsync(
        FunctionConfiguration function, string invokedArn, string requestId, byte[] payload, string? clientContext, bool tailLog, CancellationToken cancellationToken)
    {
        var spec = SpecFor(function);
        var invocation = new SandboxInvocation
        {
            RequestId = requestId,
            Payload = payload,
            InvokedFunctionArn = invokedArn,
            ClientContext = clientContext,
            TraceId = NewTraceId(),
        };

        var started = time.GetUtcNow();
        SandboxResult result;
        try
        {
            result = await sandboxes.InvokeAsync(spec, invocation, cancellationToken);
        }
        catch (SandboxStartException ex)
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorPayload($"RequestId: {requestId} Error: {ex.Message}", ex.ErrorType), InvocationJson.Default.ErrorPayload);
            result = new SandboxResult { Payload = body, ErrorType = ex.ErrorType, Output = "", Duration = TimeSpan.Zero, MaxMemoryUsedBytes = 0, Status = "Status: error\tError Type: " + ex.ErrorType };
        }

        var lines = LogLines(function, requestId, result);
        var stream = result.LogStream.Length > 0 ? result.LogStream : LogStreams.For(function.Version, time.GetUtcNow());
        logs.Write(lines.Select(line => new LogEvent(0, function.Name, stream, started, line)));
        string? tail = null;
        if (tailLog)
        {
            var text = Encoding.UTF8.GetBytes(string.Join('\n', lines) + "\n");
            tail = Convert.ToBase64String(text.AsSpan(Math.Max(0, text.Length - TailBytes)));
        }

        var outcome = new InvokeOutcome(200, result.Payload, result.IsError ? "Unhandled" : null, tail, function.Version);
        return (outcome, result);
    }

    internal SandboxSpec SpecFor(FunctionConfiguration function)
    {
        if (_specs.TryGetValue(function.SandboxIdentity, out var spec))
        {
            return spec;
        }

        RuntimeCatalog.TryGetKind(function.Runtime, out var kind);
        spec = new SandboxSpec
        {
            Identity = function.SandboxIdentity,
            FunctionName = function.Name,
            FunctionArn = functions.ArnOf(function.Name, function.Version == "$LATEST" ? null : function.Version),
            Version = function.Version,
            Runtime = function.Runtime,
            Kind = kind,
            Handler = function.Handler,
            CodeDirectory = functions.CodeDirectory(function),
            OptDirectory = functions.OptDirectory(function),
            MemorySize = function.MemorySize,
            Timeout = function.Timeout,
            EphemeralStorageSize = function.EphemeralStorageSize,
            Environment = function.Environment,
            Region = functions.Account.Region,
        };
        if (_specs.Count > 10_000)
        {
            _specs.Clear();
        }

        _specs[function.SandboxIdentity] = spec;
        return spec;
    }

    /// <summary>The invocation's log as Lambda writes it: output, then END and REPORT, after START.</summary>
    private List<string> LogLines(FunctionConfiguration function, string requestId, SandboxResult result)
    {
        var lines = new List<string>();
        var output = result.Output;
        var report = new StringBuilder()
            .Append("REPORT RequestId: ").Append(requestId)
            .Append("\tDuration: ").Append(Ms(result.Duration)).Append(" ms")
            .Append("\tBilled Duration: ").Append(Math.Max(1, (long)Math.Ceiling(result.Duration.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture)).Append(" ms")
            .Append("\tMemory Size: ").Append(function.MemorySize.ToString(CultureInfo.InvariantCulture)).Append(" MB")
            .Append("\tMax Memory Used: ").Append((result.MaxMemoryUsedBytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture)).Append(" MB");
        if (result.InitDuration is { } init)
        {
            report.Append("\tInit Duration: ").Append(Ms(init)).Append(" ms");
            lines.Add($"INIT_START Runtime Version: {function.Runtime}\tRuntime Version ARN: hayate:{function.Runtime}");
            AddLines(lines, result.InitOutput);
        }

        if (result.Status is { } status)
        {
            report.Append('\t').Append(status);
        }

        report.Append('\t');
        lines.Add($"START RequestId: {requestId} Version: {function.Version}");
        AddLines(lines, output);

        if (result.ErrorType is "Sandbox.Timedout")
        {
            lines.Add($"{time.GetUtcNow().UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} {requestId} Task timed out after {function.Timeout.ToString("0.00", CultureInfo.InvariantCulture)} seconds");
        }

        lines.Add($"END RequestId: {requestId}");
        lines.Add(report.ToString());
        return lines;
    }

    private static void AddLines(List<string> lines, string output)
    {
        foreach (var line in output.Split('\n'))
        {
            if (line.Length > 0)
            {
                lines.Add(line.TrimEnd('\r'));
            }
        }
    }

    private static string Ms(TimeSpan span) => span.TotalMilliseconds.ToString("0.00", CultureInfo.InvariantCulture);

    private static bool IsJson(byte[] payload)
    {
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? DecodeClientContext(string encoded)
    {
        try
        {
            var bytes = Convert.FromBase64String(encoded);
            if (bytes.Length > MaxClientContextBytes)
            {
                return null;
            }

            using var doc = JsonDocument.Parse(bytes);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.GetRawText() : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }

    public static string NewRequestId() => Guid.NewGuid().ToString();

    private string NewTraceId()
    {
        Span<byte> random = stackalloc byte[20];
        RandomNumberGenerator.Fill(random);
        var seconds = time.GetUtcNow().ToUnixTimeSeconds().ToString("x8", CultureInfo.InvariantCulture);
        return $"Root=1-{seconds}-{Convert.ToHexStringLower(random[..12])};Parent={Convert.ToHexStringLower(random[12..])};Sampled=0";
    }
}

internal sealed record ErrorPayload(
    [property: System.Text.Json.Serialization.JsonPropertyName("errorMessage")] string ErrorMessage,
    [property: System.Text.Json.Serialization.JsonPropertyName("errorType")] string ErrorType);

[System.Text.Json.Serialization.JsonSerializable(typeof(ErrorPayload))]
internal sealed partial class InvocationJson : System.Text.Json.Serialization.JsonSerializerContext;
