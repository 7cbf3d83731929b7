using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>Invoking python, node and custom-runtime functions, the way users call them.</summary>
public sealed class InvokeTests(SharedServer shared)
{
    private static string Name(string prefix) => Names.New(prefix);

    private const string CountingPython = """
        import os
        COUNT = 0
        print("init ran")
        def handler(event, context):
            global COUNT
            COUNT += 1
            print("handled", event.get("n"))
            return {
                "count": COUNT,
                "event": event,
                "function_name": context.function_name,
                "function_version": context.function_version,
                "arn": context.invoked_function_arn,
                "memory": context.memory_limit_in_mb,
                "request_id": context.aws_request_id,
                "log_group": context.log_group_name,
                "log_stream": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(),
                "env": {k: os.environ.get(k) for k in ["AWS_LAMBDA_RUNTIME_API", "_HANDLER", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "TZ", "MY_SETTING"]},
            }
        """;

    [Fact]
    public async Task Invoke_PythonWithAwsCli_ReturnsPayloadAndTailLog()
    {
        var name = Name("py-cli");
        var zip = Zip.WriteTemp(Zip.Of(("app.py", CountingPython)));
        var created = await Clients.AwsAsync(shared.Endpoint, "lambda", "create-function", "--function-name", name, "--runtime", "python3.12",
            "--handler", "app.handler", "--role", "arn:aws:iam::000000000000:role/x", "--zip-file", "fileb://" + zip,
            "--environment", "Variables={MY_SETTING=hello}");
        Assert.True(created.ExitCode == 0, created.Stderr);
        Assert.Equal("Active", created.Json["State"]!.GetValue<string>());

        var outFile = Path.Combine(Paths.NewTempDirectory("out"), "out.json");
        var invoked = await Clients.AwsAsync(shared.Endpoint, "lambda", "invoke", "--function-name", name, "--payload", """{"n":1}""", "--log-type", "Tail", outFile);
        Assert.True(invoked.ExitCode == 0, invoked.Stderr);
        Assert.Equal(200, invoked.Json["StatusCode"]!.GetValue<int>());
        Assert.Equal("$LATEST", invoked.Json["ExecutedVersion"]!.GetValue<string>());
        Assert.Null(invoked.Json["FunctionError"]);
        var log = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(invoked.Json["LogResult"]!.GetValue<string>()));
        Assert.Contains("START RequestId: ", log, StringComparison.Ordinal);
        Assert.Contains("handled 1", log, StringComparison.Ordinal);
        Assert.Contains("END RequestId: ", log, StringComparison.Ordinal);
        Assert.Matches(@"REPORT RequestId: [0-9a-f-]{36}\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\tMemory Size: 128 MB\tMax Memory Used: \d+ MB\tInit Duration: [\d.]+ ms", log);

        var result = JsonNode.Parse(File.ReadAllText(outFile))!;
        Assert.Equal(1, result["count"]!.GetValue<int>());
        Assert.Equal(1, result["event"]!["n"]!.GetValue<int>());
        Assert.Equal(name, result["function_name"]!.GetValue<string>());
        Assert.Equal("$LATEST", result["function_version"]!.GetValue<string>());
        Assert.Equal($"arn:aws:lambda:us-east-1:000000000000:function:{name}", result["arn"]!.GetValue<string>());
        // As in AWS's own python runtime, memory_limit_in_mb is the environment's string.
        Assert.Equal("128", result["memory"]!.ToString());
        Assert.Equal("/aws/lambda/" + name, result["log_group"]!.GetValue<string>());
        Assert.InRange(result["remaining"]!.GetValue<int>(), 1, 3000);
        var env = result["env"]!;
        Assert.Equal("app.handler", env["_HANDLER"]!.GetValue<string>());
        Assert.Equal(name, env["AWS_LAMBDA_FUNCTION_NAME"]!.GetValue<string>());
        Assert.Equal("128", env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]!.GetValue<string>());
        Assert.Equal("$LATEST", env["AWS_LAMBDA_FUNCTION_VERSION"]!.GetValue<string>());
        Assert.Equal("us-east-1", env["AWS_REGION"]!.GetValue<string>());
        Assert.Equal("hello", env["MY_SETTING"]!.GetValue<string>());
        Assert.Equal(result["log_stream"]!.GetValue<string>(), env["AWS_LAMBDA_LOG_STREAM_NAME"]!.GetValue<string>());
        if (SharedServer.Bubblewrap && SharedServer.Root)
        {
            Assert.Equal("127.0.0.1:9001", env["AWS_LAMBDA_RUNTIME_API"]!.GetValue<string>());
            Assert.Equal("/var/task", env["LAMBDA_TASK_ROOT"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Invoke_WarmSandbox_RunsInitOnceAndCountsUp()
    {
        var name = Name("py-warm");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", CountingPython)));
        var first = await shared.InvokeAsync(name, """{"n":1}""", tail: true);
        var second = await shared.InvokeAsync(name, """{"n":2}""", tail: true);
        var third = await shared.InvokeAsync(name, """{"n":3}""", tail: true);
        Assert.Equal(1, first.Json!["count"]!.GetValue<int>());
        Assert.Equal(2, second.Json!["count"]!.GetValue<int>());
        Assert.Equal(3, third.Json!["count"]!.GetValue<int>());
        Assert.Contains("init ran", first.Log, StringComparison.Ordinal);
        Assert.Contains("Init Duration", first.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("init ran", second.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("Init Duration", second.Log, StringComparison.Ordinal);
        // Each invocation's output lands in its own log.
        Assert.Contains("handled 2", second.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("handled 1", second.Log, StringComparison.Ordinal);
        Assert.NotEqual(first.Json!["request_id"]!.GetValue<string>(), second.Json!["request_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Invoke_Concurrently_ScalesOutToMoreSandboxes()
    {
        var name = Name("py-par");
        const string code = """
            import time, os
            def handler(event, context):
                time.sleep(0.5)
                return {"pid_ns_init": os.getpid(), "stream": context.log_stream_name}
            """;
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", code)));
        var calls = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => shared.InvokeAsync(name)));
        Assert.All(calls, c => Assert.Equal(200, c.Status));
        Assert.All(calls, c => Assert.Null(c.FunctionError));
        // Four at once cannot share one sandbox: one invocation at a time each.
        Assert.Equal(4, calls.Select(c => c.Json!["stream"]!.GetValue<string>()).Distinct().Count());
    }

    [Fact]
    public async Task Invoke_PythonHandlerRaises_Answers200WithUnhandledAndErrorJson()
    {
        var name = Name("py-err");
        const string code = """
            class MyError(Exception):
                pass
            def handler(event, context):
                raise MyError("it broke")
            """;
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", code)));
        var response = await shared.InvokeAsync(name, tail: true);
        Assert.Equal(200, response.Status);
        Assert.Equal("Unhandled", response.FunctionError);
        Assert.Equal("MyError", response.ErrorType);
        Assert.Equal("it broke", response.ErrorMessage);
        Assert.True(response.Json!["stackTrace"] is JsonArray, response.Body);
        // The sandbox survives a handled exception and serves the next call.
        var again = await shared.InvokeAsync(name);
        Assert.Equal("MyError", again.ErrorType);
    }

    [Fact]
    public async Task Invoke_PythonDottedHandlerInFolder_Works()
    {
        var name = Name("py-dot");
        await shared.CreateFunctionAsync(name, "python3.12", "pkg.sub.mod.run", Zip.Of(
            ("pkg/__init__.py", ""), ("pkg/sub/__init__.py", ""), ("pkg/sub/mod.py", "def run(event, context):\n    return 'deep'\n")));
        var response = await shared.InvokeAsync(name);
        Assert.Equal("\"deep\"", response.Body);
    }

    [Theory]
    [InlineData("missing.handler", "Runtime.ImportModuleError")]
    [InlineData("app.nothere", "Runtime.HandlerNotFound")]
    public async Task Invoke_PythonBadHandler_AnswersRuntimeError(string handler, string errorType)
    {
        var name = Name("py-bad");
        await shared.CreateFunctionAsync(name, "python3.12", handler, Zip.Of(("app.py", "def handler(e, c):\n    return 1\n")));
        var response = await shared.InvokeAsync(name);
        Assert.Equal(200, response.Status);
        Assert.Equal("Unhandled", response.FunctionError);
        Assert.Equal(errorType, response.ErrorType);
        // A failed init never leaves a broken sandbox behind: the next call fails the same way.
        var again = await shared.InvokeAsync(name);
        Assert.Equal(errorType, again.ErrorType);
    }

    [Fact]
    public async Task Invoke_NodeAsyncHandlerCommonJs_Works()
    {
        var name = Name("node-cjs");
        const string code = """
            let count = 0;
            console.log("node init");
            exports.handler = async (event, context) => {
              count++;
              console.log("got", event.x);
              return { count, x: event.x, fn: context.functionName, remaining: context.getRemainingTimeInMillis() > 0 };
            };
            """;
        await shared.CreateFunctionAsync(name, "nodejs20.x", "index.handler", Zip.Of(("index.js", code)));
        var first = await shared.InvokeAsync(name, """{"x":5}""", tail: true);
        var second = await shared.InvokeAsync(name, """{"x":6}""");
        Assert.Null(first.FunctionError);
        Assert.Equal(5, first.Json!["x"]!.GetValue<int>());
        Assert.Equal(name, first.Json!["fn"]!.GetValue<string>());
        Assert.True(first.Json!["remaining"]!.GetValue<bool>());
        Assert.Equal(2, second.Json!["count"]!.GetValue<int>());
        Assert.Contains("got 5", first.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invoke_NodeEsModuleAndCallbackHandlers_Work()
    {
        var esm = Name("node-mjs");
        await shared.CreateFunctionAsync(esm, "nodejs22.x", "lib/app.handler", Zip.Of(("lib/app.mjs", "export const handler = async (event) => ({ esm: true, v: event.v });")));
        var esmResponse = await shared.InvokeAsync(esm, """{"v":"a"}""");
        Assert.Null(esmResponse.FunctionError);
        Assert.True(esmResponse.Json!["esm"]!.GetValue<bool>());

        var callback = Name("node-cb");
        await shared.CreateFunctionAsync(callback, "nodejs20.x", "index.handler", Zip.Of(("index.js", "exports.handler = (event, context, callback) => { setTimeout(() => callback(null, { cb: event.v }), 10); };")));
        var cbResponse = await shared.InvokeAsync(callback, """{"v":7}""");
        Assert.Equal(7, cbResponse.Json!["cb"]!.GetValue<int>());
    }

    [Fact]
    public async Task Invoke_NodeThrows_AnswersErrorJson()
    {
        var name = Name("node-err");
        await shared.CreateFunctionAsync(name, "nodejs20.x", "index.handler", Zip.Of(("index.js", "exports.handler = async () => { throw new TypeError('bad thing'); };")));
        var response = await shared.InvokeAsync(name);
        Assert.Equal("Unhandled", response.FunctionError);
        Assert.Equal("TypeError", response.ErrorType);
        Assert.Equal("bad thing", response.ErrorMessage);
    }

    [Fact]
    public async Task Invoke_NodeMissingHandler_AnswersHandlerNotFound()
    {
        var name = Name("node-nf");
        await shared.CreateFunctionAsync(name, "nodejs20.x", "index.nope", Zip.Of(("index.js", "exports.handler = async () => 1;")));
        var response = await shared.InvokeAsync(name);
        Assert.Equal("Runtime.HandlerNotFound", response.ErrorType);
    }

    /// <summary>A custom runtime written only against the public Runtime API documentation, in shell with curl-free bash /dev/tcp.</summary>
    private const string ShellBootstrap = """
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

    [Fact]
    public async Task Invoke_ProvidedRuntimeBootstrap_ServesManyInvocations()
    {
        var name = Name("sh-rt");
        await shared.CreateFunctionAsync(name, "provided.al2023", "whatever.handler", Zip.Of(("bootstrap", ShellBootstrap)));
        for (var i = 0; i < 3; i++)
        {
            var response = await shared.InvokeAsync(name, $$"""{"i":{{i}}}""", tail: true);
            Assert.True(response.FunctionError is null, response.Body + response.Log);
            Assert.Equal(i, response.Json!["echo"]!["i"]!.GetValue<int>());
            Assert.Equal("whatever.handler", response.Json!["handler"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Invoke_ProvidedWithoutBootstrap_AnswersInvalidEntrypoint()
    {
        var name = Name("no-boot");
        await shared.CreateFunctionAsync(name, "provided.al2", "x", Zip.Of(("readme.txt", "no bootstrap here")));
        var response = await shared.InvokeAsync(name);
        Assert.Equal("Unhandled", response.FunctionError);
        Assert.Equal("Runtime.InvalidEntrypoint", response.ErrorType);
    }

    [Fact]
    public async Task Invoke_DryRunAndEvent_Answer204And202()
    {
        var name = Name("py-types");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(e, c):\n    print('event ran', e['tag'])\n    return 1\n")));
        var dry = await shared.InvokeAsync(name, "{}", type: "DryRun");
        Assert.Equal(204, dry.Status);
        var tag = Guid.NewGuid().ToString("N");
        var accepted = await shared.InvokeAsync(name, $$"""{"tag":"{{tag}}"}""", type: "Event");
        Assert.Equal(202, accepted.Status);
        Assert.Equal("", accepted.Body);

        // The event runs in the background: its output shows up in the function's log.
        var logs = await Clients.HayateAsync("logs", name, "--endpoint", shared.Endpoint);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!logs.Stdout.Contains("event ran " + tag, StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            using var wait = await shared.Http.GetAsync($"_hayate/logs/{name}?after=0&wait=5");
            logs = await Clients.HayateAsync("logs", name, "--endpoint", shared.Endpoint);
        }

        Assert.Contains("event ran " + tag, logs.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invoke_UpdateConfiguration_RetiresWarmSandbox()
    {
        var name = Name("py-upd");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", CountingPython)));
        Assert.Equal(1, (await shared.InvokeAsync(name)).Json!["count"]!.GetValue<int>());
        Assert.Equal(2, (await shared.InvokeAsync(name)).Json!["count"]!.GetValue<int>());
        using var update = await shared.Http.PutAsync($"2015-03-31/functions/{name}/configuration",
            SharedServer.Json(new JsonObject { ["Environment"] = new JsonObject { ["Variables"] = new JsonObject { ["MY_SETTING"] = "changed" } } }));
        Assert.Equal(200, (int)update.StatusCode);
        var after = await shared.InvokeAsync(name);
        Assert.Equal(1, after.Json!["count"]!.GetValue<int>());
        Assert.Equal("changed", after.Json!["env"]!["MY_SETTING"]!.GetValue<string>());

        using var code = await shared.Http.PutAsync($"2015-03-31/functions/{name}/code",
            SharedServer.Json(new JsonObject { ["ZipFile"] = Convert.ToBase64String(Zip.Of(("app.py", "def handler(e, c):\n    return 'v2'\n"))) }));
        Assert.Equal(200, (int)code.StatusCode);
        Assert.Equal("\"v2\"", (await shared.InvokeAsync(name)).Body);
    }
    [Fact]
    public async Task Invoke_CallerHangsUp_InvocationFinishesAndSandboxStaysWarm()
    {
        var name = Name("hangup");
        const string code = """
            import time
            COUNT = 0
            def handler(event, context):
                global COUNT
                COUNT += 1
                if event.get("slow"):
                    time.sleep(1.5)
                print("finished", COUNT)
                return COUNT
            """;
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", code)), timeout: 10);
        using (var impatient = new HttpClient { BaseAddress = shared.Http.BaseAddress, Timeout = TimeSpan.FromMilliseconds(300) })
        {
            await Assert.ThrowsAnyAsync<TaskCanceledException>(() => impatient.PostAsync($"2015-03-31/functions/{name}/invocations", new StringContent("""{"slow":true}""")));
        }

        // The abandoned call still runs to its end: its log says so.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var log = "";
        while (!log.Contains("REPORT RequestId", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            log = await shared.Http.GetStringAsync($"_hayate/logs/{name}?after=0&wait=10");
        }

        Assert.Contains("finished 1", log, StringComparison.Ordinal);

        // And its sandbox then serves the next call warm.
        var next = await shared.InvokeAsync(name, "{}", tail: true);
        Assert.Equal("2", next.Body);
        Assert.DoesNotContain("Init Duration", next.Log, StringComparison.Ordinal);
    }
    [Fact]
    public async Task Invoke_Python_RunsThePrecompiledBootstrap()
    {
        Assert.Contains("(bootstrap precompiled)", shared.Server.StandardError, StringComparison.Ordinal);
        var name = Name("pyc");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", "import sys\ndef handler(e, c):\n    return sys.argv[0]\n")));
        var response = await shared.InvokeAsync(name);
        Assert.EndsWith("python/bootstrap.pyc\"", response.Body, StringComparison.Ordinal);
    }
}
