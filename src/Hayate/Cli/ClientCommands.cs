using System.CommandLine;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hayate.Cli;

/// <summary>Commands that talk to a running server over the Lambda API: invoke, deploy, logs.</summary>
internal static class ClientCommands
{
    private static Option<string> EndpointOption() => new("--endpoint", "-e")
    {
        Description = "The server's URL (or set HAYATE_ENDPOINT).",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("HAYATE_ENDPOINT") ?? "http://127.0.0.1:4600",
    };

    public static Command Invoke()
    {
        var name = new Argument<string>("name") { Description = "Function name or ARN (NAME:QUALIFIER allowed)." };
        var payload = new Option<string>("--payload") { Description = "The event, as JSON.", DefaultValueFactory = _ => "{}" };
        var async = new Option<bool>("--async") { Description = "Invoke asynchronously (InvocationType Event): returns once the event is accepted." };
        var log = new Option<bool>("--log") { Description = "Print the invocation's log tail (last 4 KB) to stderr." };
        var endpoint = EndpointOption();
        var command = new Command("invoke", "Invoke a function and print its response to stdout. Exit code 1 when the function returned an error.")
        {
            name, payload, async, log, endpoint,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var http = Client(parse.GetValue(endpoint)!);
            using var request = new HttpRequestMessage(HttpMethod.Post, $"2015-03-31/functions/{Uri.EscapeDataString(parse.GetValue(name)!)}/invocations")
            {
                Content = new StringContent(parse.GetValue(payload)!, Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("X-Amz-Invocation-Type", parse.GetValue(async) ? "Event" : "RequestResponse");
            request.Headers.Add("X-Amz-Log-Type", parse.GetValue(log) ? "Tail" : "None");
            return await SendAsync(http, request, async response =>
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.Headers.TryGetValues("X-Amz-Log-Result", out var tail))
                {
                    await Console.Error.WriteAsync(Encoding.UTF8.GetString(Convert.FromBase64String(tail.First())));
                }

                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    await Console.Error.WriteLineAsync("hayate invoke: event accepted (202)");
                    return HayateCli.Ok;
                }

                Console.Out.WriteLine(body);
                return response.Headers.Contains("X-Amz-Function-Error") ? HayateCli.FunctionError : HayateCli.Ok;
            }, cancellationToken);
        });
        return command;
    }

    public static Command Deploy()
    {
        var dir = new Argument<DirectoryInfo>("dir") { Description = "Folder with the function's code; it is zipped as it is." };
        var name = new Option<string>("--name", "-n") { Description = "Function name.", Required = true };
        var runtime = new Option<string>("--runtime", "-r") { Description = "Runtime, e.g. python3.12, nodejs22.x, provided.al2023.", Required = true };
        var handler = new Option<string>("--handler") { Description = "Handler, e.g. app.handler (for provided runtimes any value).", Required = true };
        var memory = new Option<int?>("--memory") { Description = "MemorySize in MB (128-10240)." };
        var timeout = new Option<int?>("--timeout") { Description = "Timeout in seconds (1-900)." };
        var env = new Option<string[]>("--env") { Description = "Environment variable KEY=VALUE (repeatable).", AllowMultipleArgumentsPerToken = false };
        var role = new Option<string>("--role") { Description = "Execution role ARN.", DefaultValueFactory = _ => "arn:aws:iam::000000000000:role/hayate" };
        var endpoint = EndpointOption();
        var command = new Command("deploy", "Zip a folder and create the function, or update its code and configuration if it exists. Prints the configuration as JSON.")
        {
            dir, name, runtime, handler, memory, timeout, env, role, endpoint,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var folder = parse.GetValue(dir)!;
            if (!folder.Exists)
            {
                await Console.Error.WriteLineAsync($"hayate deploy: no such folder: {folder.FullName}");
                return HayateCli.Refused;
            }

            var variables = new JsonObject();
            foreach (var pair in parse.GetValue(env) ?? [])
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    await Console.Error.WriteLineAsync($"hayate deploy: --env takes KEY=VALUE, got '{pair}'");
                    return HayateCli.Refused;
                }

                variables[pair[..eq]] = pair[(eq + 1)..];
            }

            var zip = ZipFolder(folder.FullName);
            await Console.Error.WriteLineAsync($"hayate deploy: packaged {folder.FullName} ({zip.Length} bytes)");
            var fn = parse.GetValue(name)!;
            var configuration = new JsonObject
            {
                ["Runtime"] = parse.GetValue(runtime),
                ["Handler"] = parse.GetValue(handler),
                ["Role"] = parse.GetValue(role),
            };
            if (parse.GetValue(memory) is { } m)
            {
                configuration["MemorySize"] = m;
            }

            if (parse.GetValue(timeout) is { } t)
            {
                configuration["Timeout"] = t;
            }

            if (variables.Count > 0)
            {
                configuration["Environment"] = new JsonObject { ["Variables"] = variables };
            }

            using var http = Client(parse.GetValue(endpoint)!);
            var path = $"2015-03-31/functions/{Uri.EscapeDataString(fn)}";
            HttpResponseMessage existing;
            try
            {
                existing = await http.GetAsync(path, cancellationToken);
            }
            catch (HttpRequestException ex)
            {
                return await UnreachableAsync(http, ex);
            }

            if (existing.StatusCode == HttpStatusCode.NotFound)
            {
                var create = configuration.DeepClone().AsObject();
                create["FunctionName"] = fn;
                create["Code"] = new JsonObject { ["ZipFile"] = Convert.ToBase64String(zip) };
                await Console.Error.WriteLineAsync($"hayate deploy: creating {fn}");
                return await SendJsonAsync(http, HttpMethod.Post, "2015-03-31/functions", create, cancellationToken);
            }

            await Console.Error.WriteLineAsync($"hayate deploy: updating code of {fn}");
            var code = await SendJsonAsync(http, HttpMethod.Put, path + "/code", new JsonObject { ["ZipFile"] = Convert.ToBase64String(zip) }, cancellationToken, print: false);
            if (code != HayateCli.Ok)
            {
                return code;
            }

            await Console.Error.WriteLineAsync($"hayate deploy: updating configuration of {fn}");
            if (variables.Count == 0)
            {
                configuration["Environment"] = new JsonObject { ["Variables"] = new JsonObject() };
            }

            return await SendJsonAsync(http, HttpMethod.Put, path + "/configuration", configuration, cancellationToken);
        });
        return command;
    }

    public static Command Logs()
    {
        var name = new Argument<string>("name") { Description = "Function name." };
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new lines as they arrive (Ctrl-C to stop)." };
        var endpoint = EndpointOption();
        var command = new Command("logs", "Print a function's logs: its output and the START/END/REPORT lines of each invocation.")
        {
            name, follow, endpoint,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var http = Client(parse.GetValue(endpoint)!);
            http.Timeout = Timeout.InfiniteTimeSpan;
            var fn = Uri.EscapeDataString(parse.GetValue(name)!);
            var follows = parse.GetValue(follow);
            long after = 0;
            try
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    // Following, the server holds the request until new lines arrive (long poll).
                    using var response = await http.GetAsync($"_hayate/logs/{fn}?after={after}&wait={(follows ? 20 : 0)}", cancellationToken);
                    if (!response.IsSuccessStatusCode)
                    {
                        return await RefusedAsync(response, cancellationToken);
                    }

                    using var doc = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellationToken));
                    var events = doc.RootElement.GetProperty("events");
                    foreach (var e in events.EnumerateArray())
                    {
                        Console.Out.WriteLine(e.GetProperty("message").GetString());
                    }

                    if (!follows && events.GetArrayLength() == 0)
                    {
                        return HayateCli.Ok;
                    }

                    after = doc.RootElement.GetProperty("nextToken").GetInt64();
                }
            }
            catch (OperationCanceledException)
            {
                return HayateCli.Ok;
            }
            catch (HttpRequestException ex)
            {
                return await UnreachableAsync(http, ex);
            }

            return HayateCli.Ok;
        });
        return command;
    }

    /// <summary>Zips a folder keeping Unix permissions, so that a bootstrap stays executable.</summary>
    internal static byte[] ZipFolder(string folder)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var path in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var relative = Path.GetRelativePath(folder, path).Replace('\\', '/');
                var entry = archive.CreateEntry(relative, CompressionLevel.Fastest);
                entry.ExternalAttributes = (int)(0x8000 | (int)File.GetUnixFileMode(path)) << 16;
                using var input = File.OpenRead(path);
                using var output = entry.Open();
                input.CopyTo(output);
            }
        }

        return buffer.ToArray();
    }

    private static HttpClient Client(string endpoint) => new()
    {
        BaseAddress = new Uri(endpoint.EndsWith('/') ? endpoint : endpoint + "/"),
        Timeout = TimeSpan.FromMinutes(16),
    };

    private static async Task<int> SendJsonAsync(HttpClient http, HttpMethod method, string path, JsonObject body, CancellationToken cancellationToken, bool print = true)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await SendAsync(http, request, async response =>
        {
            if (print)
            {
                Console.Out.WriteLine(await response.Content.ReadAsStringAsync(cancellationToken));
            }

            return HayateCli.Ok;
        }, cancellationToken);
    }

    private static async Task<int> SendAsync(HttpClient http, HttpRequestMessage request, Func<HttpResponseMessage, Task<int>> onSuccess, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode ? await onSuccess(response) : await RefusedAsync(response, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            return await UnreachableAsync(http, ex);
        }
    }

    private static async Task<int> RefusedAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var type = response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.First() : response.StatusCode.ToString();
        var message = "";
        try
        {
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            message = doc.RootElement.TryGetProperty("message", out var m) || doc.RootElement.TryGetProperty("Message", out m) ? m.GetString() ?? "" : "";
        }
        catch (JsonException)
        {
        }

        await Console.Error.WriteLineAsync($"hayate: {(int)response.StatusCode} {type}: {message}");
        return HayateCli.Refused;
    }

    private static async Task<int> UnreachableAsync(HttpClient http, HttpRequestException ex)
    {
        await Console.Error.WriteLineAsync($"hayate: cannot reach the server at {http.BaseAddress}: {ex.Message}. Is `hayate serve` running? Use --endpoint or HAYATE_ENDPOINT to point elsewhere.");
        return HayateCli.Unreachable;
    }
}
