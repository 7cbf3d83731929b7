using System.Text;
using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>The Runtime API as custom runtimes and clients meet it: curl, large bodies, client context.</summary>
public sealed class RuntimeApiTests(SharedServer shared)
{
    /// <summary>A runtime in the style of the AWS tutorial: #!/bin/sh with bash options, curl for every call.</summary>
    private const string CurlBootstrap = """
        #!/bin/sh
        set -euo pipefail
        source $LAMBDA_TASK_ROOT/"$(echo $_HANDLER | cut -d. -f1).sh"
        while true
        do
          HEADERS="$(mktemp)"
          EVENT_DATA=$(curl -sS -LD "$HEADERS" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next")
          REQUEST_ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
          RESPONSE=$($(echo "$_HANDLER" | cut -d. -f2) "$EVENT_DATA")
          curl -sS "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$REQUEST_ID/response" -d "$RESPONSE" > /dev/null
        done
        """;

    private const string CurlHandler = """
        function handler () {
          EVENT_DATA=$1
          echo "$EVENT_DATA" 1>&2;
          RESPONSE="{\"statusCode\": 200, \"body\": $EVENT_DATA}"
          echo $RESPONSE
        }
        """;

    [Fact]
    public async Task Invoke_TutorialStyleCurlRuntime_Works()
    {
        Assert.SkipUnless(File.Exists("/usr/bin/curl"), "needs curl on the host (CI installs it)");
        var name = Names.New("curl-rt");
        await shared.CreateFunctionAsync(name, "provided.al2023", "function.handler", Zip.Of(("bootstrap", CurlBootstrap), ("function.sh", CurlHandler)));
        for (var i = 0; i < 2; i++)
        {
            var response = await shared.InvokeAsync(name, $$"""{"n":{{i}}}""", tail: true);
            Assert.True(response.FunctionError is null, response.Body + "\n" + response.Log);
            Assert.Equal(200, response.Json!["statusCode"]!.GetValue<int>());
            Assert.Equal(i, response.Json!["body"]!["n"]!.GetValue<int>());
            Assert.Contains($$"""{"n":{{i}}}""", response.Log, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Invoke_LargeEventAndResponse_RoundTripWhole()
    {
        var name = Names.New("large");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(event, context):\n    return {'len': len(event['blob']), 'echo': event['blob']}\n")));
        var blob = new string('x', 5 * 1024 * 1024);
        var response = await shared.InvokeAsync(name, $$"""{"blob":"{{blob}}"}""");
        Assert.True(response.FunctionError is null, response.Body.Length > 500 ? response.Body[..500] : response.Body);
        Assert.Equal(blob.Length, response.Json!["len"]!.GetValue<int>());
        Assert.Equal(blob, response.Json!["echo"]!.GetValue<string>());
    }

    [Fact]
    public async Task Invoke_ResponseOverSixMegabytes_FailsWithResponseSizeTooLarge()
    {
        var name = Names.New("toolarge");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(event, context):\n    return 'y' * (7 * 1024 * 1024)\n")), timeout: 10);
        var response = await shared.InvokeAsync(name);
        Assert.Equal(200, response.Status);
        Assert.Equal("Unhandled", response.FunctionError);
        Assert.Equal("Function.ResponseSizeTooLarge", response.ErrorType);
        // The sandbox is still usable afterwards.
        var again = await shared.InvokeAsync(name);
        Assert.Equal("Function.ResponseSizeTooLarge", again.ErrorType);
    }

    [Fact]
    public async Task Invoke_WithClientContext_ReachesTheHandler()
    {
        var name = Names.New("ctx");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py",
            "def handler(event, context):\n    cc = context.client_context\n    return {'custom': cc.custom if cc else None, 'env': cc.env if cc else None}\n")));
        var context = Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"custom":{"tenant":"t1"},"env":{"platform":"test"},"client":{}}"""));
        var result = await Clients.Boto3Async(shared.Endpoint, $$"""
            r = lambda_client.invoke(FunctionName='{{name}}', ClientContext='{{context}}', Payload=b'{}')
            print(r['Payload'].read().decode())
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = JsonNode.Parse(result.Stdout)!;
        Assert.Equal("t1", json["custom"]!["tenant"]!.GetValue<string>());
        Assert.Equal("test", json["env"]!["platform"]!.GetValue<string>());
    }

    [Fact]
    public async Task Invoke_InvalidClientContext_Answers400()
    {
        var name = Names.New("badctx");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(e, c):\n    return 1\n")));
        using var request = new HttpRequestMessage(HttpMethod.Post, $"2015-03-31/functions/{name}/invocations") { Content = new StringContent("{}") };
        request.Headers.Add("X-Amz-Client-Context", "not base64 json!");
        using var response = await shared.Http.SendAsync(request);
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("InvalidRequestContentException", response.Headers.GetValues("x-amzn-ErrorType").Single());
    }
}
