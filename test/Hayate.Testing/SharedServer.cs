using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hayate.Testing;

/// <summary>One real server for the whole run; tests keep apart by function names of their own.</summary>
public sealed class SharedServer : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public string Endpoint => Server.Endpoint;

    public HttpClient Http { get; private set; } = null!;

    /// <summary>True when bubblewrap isolates the sandboxes (CI installs it).</summary>
    public static bool Bubblewrap { get; } = File.Exists("/usr/bin/bwrap") || File.Exists("/usr/local/bin/bwrap");

    public static bool Root { get; } = Environment.UserName == "root";

    public async ValueTask InitializeAsync()
    {
        // A short idle timeout so the reaping test does not wait long (warm reuse is checked back to
        // back), and asynchronous retries after 1 s and 2 s rather than Lambda's minutes.
        Attach(await ServerProcess.StartAsync(null, "--idle-timeout", "20", "--async-retry-delay", "1"));
    }

    /// <summary>A server of a test's own, started with <paramref name="args"/>, driven as the shared one is; dispose it.</summary>
    public static async Task<SharedServer> StartOwnAsync(params string[] args)
    {
        var own = new SharedServer();
        own.Attach(await ServerProcess.StartAsync(null, args));
        return own;
    }

    private void Attach(ServerProcess server)
    {
        Server = server;
        Http = new HttpClient { BaseAddress = new Uri(Endpoint + "/"), Timeout = TimeSpan.FromMinutes(2) };
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }

    /// <summary>Creates a function over the raw API and fails the test if that does not work.</summary>
    public Task<JsonObject> CreateFunctionAsync(string name, string runtime, string handler, byte[] zip, int timeout = 3, int memory = 128, IDictionary<string, string>? environment = null) =>
        CreateFunctionAsync(Http, name, runtime, handler, zip, timeout, memory, environment);

    /// <summary>Creates a function on any server; fails the test if that does not work.</summary>
    public static async Task<JsonObject> CreateFunctionAsync(HttpClient http, string name, string runtime, string handler, byte[] zip, int timeout = 3, int memory = 128, IDictionary<string, string>? environment = null)
    {
        var body = new JsonObject
        {
            ["FunctionName"] = name,
            ["Runtime"] = runtime,
            ["Handler"] = handler,
            ["Role"] = "arn:aws:iam::000000000000:role/test",
            ["Timeout"] = timeout,
            ["MemorySize"] = memory,
            ["Code"] = new JsonObject { ["ZipFile"] = Convert.ToBase64String(zip) },
        };
        if (environment is not null)
        {
            var variables = new JsonObject();
            foreach (var (k, v) in environment)
            {
                variables[k] = v;
            }

            body["Environment"] = new JsonObject { ["Variables"] = variables };
        }

        using var response = await http.PostAsync("2015-03-31/functions", Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 201, $"CreateFunction {name} answered {(int)response.StatusCode}: {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    /// <summary>Invokes over the raw API; returns the response for header checks.</summary>
    public async Task<InvokeResponse> InvokeAsync(string name, string payload = "{}", string type = "RequestResponse", bool tail = false, string? qualifier = null)
    {
        var path = $"2015-03-31/functions/{Uri.EscapeDataString(name)}/invocations" + (qualifier is null ? "" : "?Qualifier=" + Uri.EscapeDataString(qualifier));
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(payload, Encoding.UTF8) };
        request.Headers.Add("X-Amz-Invocation-Type", type);
        if (tail)
        {
            request.Headers.Add("X-Amz-Log-Type", "Tail");
        }

        using var response = await Http.SendAsync(request);
        var headers = response.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        return new InvokeResponse((int)response.StatusCode, await response.Content.ReadAsStringAsync(), headers);
    }

    public static StringContent Json(JsonNode body)
    {
        var content = new StringContent(body.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}

public sealed record InvokeResponse(int Status, string Body, IReadOnlyDictionary<string, string> Headers)
{
    public string? FunctionError => Headers.TryGetValue("X-Amz-Function-Error", out var v) ? v : null;

    public string Log => Headers.TryGetValue("X-Amz-Log-Result", out var v) ? Encoding.UTF8.GetString(Convert.FromBase64String(v)) : "";

    public JsonNode? Json => JsonNode.Parse(Body);

    public string ErrorType => JsonDocument.Parse(Body).RootElement.GetProperty("errorType").GetString()!;

    public string ErrorMessage => JsonDocument.Parse(Body).RootElement.GetProperty("errorMessage").GetString()!;
}
