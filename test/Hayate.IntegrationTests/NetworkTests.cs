using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>The fake internet, and a server started after it (so that 198.51.100.1 is among the host addresses its sandboxes may not reach) that allows 10.99.0.1.</summary>
public sealed class NetworkFixture : IAsyncLifetime
{
    public FakeInternet Internet { get; } = new();

    public SharedServer? Server { get; private set; }

    /// <summary>Why these tests cannot run here; null when they can.</summary>
    public string? Problem { get; private set; }

    public async ValueTask InitializeAsync()
    {
        if (!SharedServer.Bubblewrap || !SharedServer.Root || !File.Exists("/usr/bin/slirp4netns"))
        {
            Problem = "sandbox networking needs a root server with bubblewrap and slirp4netns (CI installs them)";
            return;
        }

        await Internet.InitializeAsync();
        Problem = Internet.Problem;
        if (Problem is null)
        {
            // On every address, so that the API is live at this host's own addresses too (where sandboxes must not reach it).
            Server = await SharedServer.StartOwnAsync("--host", "0.0.0.0", "--egress-allow", FakeInternet.PrivateAllowed + "/32");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        await Internet.DisposeAsync();
    }
}

/// <summary>
/// What a function reaches over the network, tried from python, node and a `provided` bootstrap:
/// the internet (the fake one) and Hayate's API at AWS_ENDPOINT_URL; not this host, link-local,
/// private ranges (unless allowed) or another sandbox.
/// </summary>
public sealed class NetworkTests(NetworkFixture fixture) : IClassFixture<NetworkFixture>
{
    private SharedServer Server
    {
        get
        {
            Assert.SkipWhen(fixture.Problem is not null, fixture.Problem ?? "");
            return fixture.Server!;
        }
    }

    /// <summary>Where a function must not get, each with a listener there that the host itself reaches.</summary>
    private Dictionary<string, (string Host, int Port)> Forbidden()
    {
        var apiPort = new Uri(Server.Endpoint).Port;
        var targets = new Dictionary<string, (string, int)>
        {
            ["private"] = (FakeInternet.PrivateDenied, 80),
            ["link_local"] = (FakeInternet.LinkLocal, 80),
            ["metadata"] = ("169.254.169.254", 80),
            ["host_own_address"] = (FakeInternet.HostEnd, FakeInternet.HostPort),
            // The server's port on the host's loopback, through slirp4netns's gateway.
            ["api_via_gateway"] = ("10.0.2.2", apiPort),
        };
        if (OtherHostAddress() is { } address)
        {
            targets["api_via_host_address"] = (address.ToString(), apiPort);
        }

        return targets;
    }

    /// <summary>An IPv4 address of this host other than loopback and the fake internet's end, if it has one.</summary>
    private static IPAddress? OtherHostAddress() => NetworkInterface.GetAllNetworkInterfaces()
        .SelectMany(i => i.GetIPProperties().UnicastAddresses)
        .Select(a => a.Address)
        .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a) && a.ToString() != FakeInternet.HostEnd);

    private static JsonObject Targets(Dictionary<string, (string Host, int Port)> targets)
    {
        var json = new JsonObject();
        foreach (var (name, (host, port)) in targets)
        {
            json[name] = new JsonArray(host, port);
        }

        return new JsonObject { ["targets"] = json };
    }

    /// <summary>Each forbidden place is live: the host reaches it, so a sandbox that got there would show.</summary>
    private static async Task AssertTheHostReachesAsync(Dictionary<string, (string Host, int Port)> targets)
    {
        foreach (var (name, (host, port)) in targets.Where(t => t.Key != "metadata"))
        {
            using var client = new TcpClient();
            var target = host == "10.0.2.2" ? "127.0.0.1" : host;
            await client.ConnectAsync(target, port, TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
            Assert.True(client.Connected, $"the host itself does not reach {name} ({target}:{port})");
        }
    }

    [Fact]
    public async Task Python_ReachesTheInternet_ButNotThisHostLinkLocalOrPrivateRanges_UnlessAllowed()
    {
        var server = Server;
        var targets = Forbidden();
        targets["api_on_sandbox_loopback"] = ("127.0.0.1", new Uri(server.Endpoint).Port);
        await AssertTheHostReachesAsync(Forbidden());
        var name = Names.New("net-py");
        await server.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", """
            import errno, socket, urllib.request
            def probe(host, port):
                s = socket.socket()
                s.settimeout(5)
                try:
                    s.connect((host, port))
                    return 'open'
                except socket.timeout:
                    return 'timeout'
                except OSError as e:
                    return errno.errorcode.get(e.errno, str(e))
                finally:
                    s.close()
            def get(url):
                try:
                    return urllib.request.urlopen(url, timeout=5).read().decode()
                except OSError as e:
                    return repr(e)
            def handler(event, context):
                out = {name: probe(host, port) for name, (host, port) in event['targets'].items()}
                out['internet'] = get('http://198.51.100.2/')
                out['allowed_private'] = get('http://10.99.0.1/')
                out['resolv'] = open('/etc/resolv.conf').read()
                out['localhost'] = socket.gethostbyname('localhost')
                return out
            """)), timeout: 30);

        var result = await server.InvokeAsync(name, Targets(targets).ToJsonString());

        Assert.True(result.Status == 200 && result.FunctionError is null, result.Body);
        var json = result.Json!;
        Assert.Equal("internet 198.51.100.2", json["internet"]!.GetValue<string>());
        Assert.Equal("internet 10.99.0.1", json["allowed_private"]!.GetValue<string>());
        foreach (var forbidden in Forbidden().Keys)
        {
            // Refused by the namespace's egress rules at once, not left to time out.
            Assert.True(json[forbidden]!.GetValue<string>() == "EHOSTUNREACH", $"{forbidden}: {json[forbidden]} (EHOSTUNREACH expected)");
        }

        // The sandbox's own loopback has its Runtime API and the forwarded Hayate API, nothing of the host's.
        Assert.Equal("ECONNREFUSED", json["api_on_sandbox_loopback"]!.GetValue<string>());
        Assert.StartsWith("nameserver 10.0.2.3\n", json["resolv"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("127.0.0.1", json["localhost"]!.GetValue<string>());
    }

    [Fact]
    public async Task Node_ReachesTheInternet_ButNotThisHostOrLinkLocal()
    {
        var server = Server;
        var name = Names.New("net-node");
        await server.CreateFunctionAsync(name, "nodejs20.x", "index.handler", Zip.Of(("index.js", """
            const net = require('net');
            const http = require('http');
            const probe = (host, port) => new Promise((resolve) => {
              const s = net.connect({ host, port, timeout: 5000 });
              s.on('connect', () => { s.destroy(); resolve('open'); });
              s.on('timeout', () => { s.destroy(); resolve('timeout'); });
              s.on('error', (e) => resolve(e.code));
            });
            const get = (url) => new Promise((resolve) => {
              http.get(url, (r) => { let b = ''; r.on('data', (d) => b += d); r.on('end', () => resolve(b)); }).on('error', (e) => resolve(e.code));
            });
            exports.handler = async (event) => {
              const out = {};
              for (const [k, [h, p]] of Object.entries(event.targets)) out[k] = await probe(h, p);
              out.internet = await get('http://198.51.100.2/');
              return out;
            };
            """)), timeout: 30);

        var result = await server.InvokeAsync(name, Targets(Forbidden()).ToJsonString());

        Assert.True(result.Status == 200 && result.FunctionError is null, result.Body);
        Assert.Equal("internet 198.51.100.2", result.Json!["internet"]!.GetValue<string>());
        foreach (var forbidden in Forbidden().Keys)
        {
            Assert.True(result.Json![forbidden]!.GetValue<string>() == "EHOSTUNREACH", $"{forbidden}: {result.Json[forbidden]}");
        }
    }

    [Fact]
    public async Task CustomRuntime_ReachesTheInternet_ButNotThisHostOrLinkLocal()
    {
        var server = Server;
        var name = Names.New("net-sh");
        var apiPort = new Uri(server.Endpoint).Port;
        var bootstrap = $$"""
            #!/bin/bash
            probe() { if timeout 5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; then echo open; else echo closed; fi; }
            while true; do
              headers=$(mktemp)
              curl -sS -D "$headers" -o /tmp/event "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next"
              id=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$headers" | tr -d '\r' | cut -d' ' -f2)
              internet=$(curl -sS --max-time 5 http://198.51.100.2/)
              curl -sS -X POST -d "{\"internet\":\"$internet\",\"metadata\":\"$(probe 169.254.169.254 80)\",\"host\":\"$(probe {{FakeInternet.HostEnd}} {{FakeInternet.HostPort}})\",\"api_via_gateway\":\"$(probe 10.0.2.2 {{apiPort}})\",\"private\":\"$(probe {{FakeInternet.PrivateDenied}} 80)\"}" \
                "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$id/response" >/dev/null
            done
            """;
        await server.CreateFunctionAsync(name, "provided.al2023", "x", Zip.Of(("bootstrap", bootstrap, 0x1ED)), timeout: 30);

        var result = await server.InvokeAsync(name);

        Assert.True(result.Status == 200 && result.FunctionError is null, result.Body);
        Assert.Equal("""{"internet":"internet 198.51.100.2","metadata":"closed","host":"closed","api_via_gateway":"closed","private":"closed"}""", result.Body);
    }

    [Fact]
    public async Task Sdk_InTheFunction_ReachesHayatesKmsKinesisAndSqs_AtAwsEndpointUrl_WithoutConfiguration()
    {
        var server = Server;
        Assert.SkipUnless(await PythonHasBoto3Async(), "the sandboxes' python3 (/usr/bin/python3) has no boto3: apt-get install python3-boto3 (CI does)");
        var queue = Names.New("net-q");
        var queueUrl = (await SqsAsync(server.Http, "CreateQueue", new JsonObject { ["QueueName"] = queue }))["QueueUrl"]!.GetValue<string>();
        var name = Names.New("net-sdk");
        await server.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", """
            import boto3, json, os, urllib.request
            def handler(event, context):
                kms = boto3.client('kms')
                key = kms.create_key(Description='made in a sandbox')['KeyMetadata']['KeyId']
                blob = kms.encrypt(KeyId=key, Plaintext=b'secret')['CiphertextBlob']
                plain = kms.decrypt(CiphertextBlob=blob)['Plaintext'].decode()
                streams = boto3.client('kinesis').list_streams()['StreamNames']
                # SQS as the SDKs send it since botocore 1.32 (JSON); Debian's 1.29 speaks only SQS's older query protocol.
                request = urllib.request.Request(os.environ['AWS_ENDPOINT_URL'] + '/',
                    data=json.dumps({'QueueUrl': event['queue'], 'MessageBody': 'from a sandbox'}).encode(),
                    headers={'X-Amz-Target': 'AmazonSQS.SendMessage', 'Content-Type': 'application/x-amz-json-1.0'})
                sent = json.loads(urllib.request.urlopen(request).read())
                return {'key': key, 'plain': plain, 'streams': type(streams).__name__, 'sent': 'MessageId' in sent, 'endpoint': os.environ['AWS_ENDPOINT_URL']}
            """)), timeout: 60, memory: 1769);

        var result = await server.InvokeAsync(name, new JsonObject { ["queue"] = queueUrl }.ToJsonString());

        Assert.True(result.Status == 200 && result.FunctionError is null, result.Body);
        var json = result.Json!;
        Assert.Equal("http://127.0.0.1:9002", json["endpoint"]!.GetValue<string>());
        Assert.Equal("secret", json["plain"]!.GetValue<string>());
        Assert.Equal("list", json["streams"]!.GetValue<string>());
        Assert.True(json["sent"]!.GetValue<bool>());
        // The key the function made is in the server's KMS, and the message in the queue.
        var described = await KmsAsync(server.Http, "DescribeKey", new JsonObject { ["KeyId"] = json["key"]!.GetValue<string>() });
        Assert.Equal("made in a sandbox", described["KeyMetadata"]!["Description"]!.GetValue<string>());
        var received = await SqsAsync(server.Http, "ReceiveMessage", new JsonObject { ["QueueUrl"] = queueUrl, ["WaitTimeSeconds"] = 5 });
        Assert.Equal("from a sandbox", received["Messages"]![0]!["Body"]!.GetValue<string>());
    }

    [Fact]
    public async Task AnotherSandbox_IsOutOfReach_EvenWhileItListens()
    {
        var server = Server;
        var listener = Names.New("net-listen");
        var prober = Names.New("net-probe");
        await server.CreateFunctionAsync(listener, "python3.12", "app.handler", Zip.Of(("app.py", """
            import socket, time
            def handler(event, context):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(('0.0.0.0', 7000))
                s.listen()
                c = socket.create_connection(('127.0.0.1', 7000), timeout=2)
                c.close()
                time.sleep(4)
                s.close()
                return 'listened'
            """)), timeout: 30);
        await server.CreateFunctionAsync(prober, "python3.12", "app.handler", Zip.Of(("app.py", """
            import errno, socket
            def probe(host, port):
                s = socket.socket()
                s.settimeout(3)
                try:
                    s.connect((host, port))
                    return 'open'
                except socket.timeout:
                    return 'timeout'
                except OSError as e:
                    return errno.errorcode.get(e.errno, str(e))
                finally:
                    s.close()
            def handler(event, context):
                return {host: probe(host, 7000) for host in ['127.0.0.1', '10.0.2.100', '10.0.2.2', '10.0.2.15']}
            """)), timeout: 30);

        var listening = server.InvokeAsync(listener);
        await Task.Delay(TimeSpan.FromSeconds(1.5), TestContext.Current.CancellationToken);
        var probed = await server.InvokeAsync(prober);

        Assert.Equal("\"listened\"", (await listening).Body);
        Assert.True(probed.Status == 200 && probed.FunctionError is null, probed.Body);
        // Every sandbox is 10.0.2.100 in a namespace of its own: there is no address at which another one is.
        Assert.Equal("""{"127.0.0.1": "ECONNREFUSED", "10.0.2.100": "ECONNREFUSED", "10.0.2.2": "EHOSTUNREACH", "10.0.2.15": "EHOSTUNREACH"}""", probed.Body);
    }

    [Fact]
    public async Task EgressNone_LeavesTheLoopbackAndHayatesApi_AndNothingElse()
    {
        Assert.SkipWhen(fixture.Problem is not null, fixture.Problem ?? "");
        await using var server = await SharedServer.StartOwnAsync("--egress", "none");
        Assert.Contains("loopback only (--egress none)", server.Server.StandardError, StringComparison.Ordinal);
        var name = Names.New("net-none");
        await server.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", """
            import errno, os, socket, urllib.request
            def handler(event, context):
                out = {}
                try:
                    socket.create_connection(('198.51.100.2', 80), timeout=5).close()
                    out['internet'] = 'open'
                except OSError as e:
                    out['internet'] = errno.errorcode.get(e.errno, str(e))
                out['api'] = urllib.request.urlopen(os.environ['AWS_ENDPOINT_URL'] + '/_hayate/health', timeout=5).read().decode()
                return out
            """)), timeout: 30);

        var result = await server.InvokeAsync(name);

        Assert.True(result.Status == 200 && result.FunctionError is null, result.Body);
        Assert.Equal("""{"internet": "ENETUNREACH", "api": "ok"}""", result.Body);
    }

    private static async Task<bool> PythonHasBoto3Async() =>
        (await Clients.RunAsync("/usr/bin/python3", ["-c", "import boto3"])).ExitCode == 0;

    private static Task<JsonNode> SqsAsync(HttpClient http, string operation, JsonObject body) => JsonApiAsync(http, "AmazonSQS." + operation, "1.0", body);

    private static Task<JsonNode> KmsAsync(HttpClient http, string operation, JsonObject body) => JsonApiAsync(http, "TrentService." + operation, "1.1", body);

    private static async Task<JsonNode> JsonApiAsync(HttpClient http, string target, string version, JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "") { Content = SharedServer.Json(body) };
        request.Headers.Add("X-Amz-Target", target);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-" + version);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{target}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!;
    }
}
