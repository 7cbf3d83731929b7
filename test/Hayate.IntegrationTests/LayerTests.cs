using System.IO.Compression;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>Layers with boto3 and the AWS CLI: publish, list, permissions, and /opt as functions see it.</summary>
public sealed class LayerTests(SharedServer shared)
{
    [Fact]
    public async Task Layers_UnpackUnderOptInOrder_LaterWins_AndSurviveDeletion_WithBoto3()
    {
        if (!SharedServer.Bubblewrap)
        {
            Assert.Skip("/opt is mounted by bubblewrap; CI installs it");
        }

        var first = Names.New("lyra");
        var second = Names.New("lyrb");
        var function = Names.New("lyrfn");
        var layerA = Convert.ToBase64String(Zip.Of(
            ("python/shared.py", "WHO = 'A'\n"),
            ("python/only_a.py", "VALUE = 'from A'\n"),
            ("nodejs/node_modules/greet/index.js", "module.exports = () => 'hello from a layer';\n")));
        var layerB = Convert.ToBase64String(Zip.Of(
            ("python/shared.py", "WHO = 'B'\n", 0x1A4),
            ("bin/layer-tool", "#!/bin/sh\necho tool-ran\n", 0x1ED)));
        var code = Convert.ToBase64String(Zip.Of(("app.py", """
            import subprocess, shared, only_a
            def handler(event, context):
                return {'who': shared.WHO, 'only_a': only_a.VALUE,
                        'tool': subprocess.run(['layer-tool'], capture_output=True, text=True).stdout.strip()}
            """)));
        var result = await Clients.Boto3Async(shared.Endpoint, $$"""
            def run():
                return json.loads(lambda_client.invoke(FunctionName='{{function}}')['Payload'].read())
            a = lambda_client.publish_layer_version(LayerName='{{first}}', Content={'ZipFile': base64.b64decode('{{layerA}}')},
                CompatibleRuntimes=['python3.12', 'nodejs20.x'], Description='first')
            a2 = lambda_client.publish_layer_version(LayerName='{{first}}', Content={'ZipFile': base64.b64decode('{{layerA}}')})
            b = lambda_client.publish_layer_version(LayerName='{{second}}', Content={'ZipFile': base64.b64decode('{{layerB}}')})
            out = {'versions': [a['Version'], a2['Version'], b['Version']], 'arn': a['LayerVersionArn'], 'layer_arn': a['LayerArn'],
                   'sha_matches': a['Content']['CodeSha256'] == a2['Content']['CodeSha256']}
            created = lambda_client.create_function(FunctionName='{{function}}', Runtime='python3.12', Handler='app.handler',
                Role='arn:aws:iam::000000000000:role/x', Code={'ZipFile': base64.b64decode('{{code}}')},
                Layers=[a['LayerVersionArn'], b['LayerVersionArn']])
            out['config_layers'] = [l['Arn'] for l in created['Layers']]
            out['a_then_b'] = run()
            lambda_client.get_waiter('function_updated_v2').wait(FunctionName='{{function}}')
            lambda_client.update_function_configuration(FunctionName='{{function}}', Layers=[b['LayerVersionArn'], a['LayerVersionArn']])
            out['b_then_a'] = run()
            out['get'] = lambda_client.get_layer_version(LayerName='{{first}}', VersionNumber=1)['Description']
            out['by_arn'] = lambda_client.get_layer_version_by_arn(Arn=a2['LayerVersionArn'])['Version']
            out['list_versions'] = [v['Version'] for v in lambda_client.list_layer_versions(LayerName='{{first}}')['LayerVersions']]
            listed = {l['LayerName']: l['LatestMatchingVersion']['Version'] for l in lambda_client.list_layers()['Layers']}
            out['list_layers'] = [listed.get('{{first}}'), listed.get('{{second}}')]
            out['list_python'] = '{{first}}' in [l['LayerName'] for l in lambda_client.list_layers(CompatibleRuntime='python3.12')['Layers']]
            out['list_java'] = '{{first}}' in [l['LayerName'] for l in lambda_client.list_layers(CompatibleRuntime='java21')['Layers']]
            # A deleted layer version keeps working for the function that uses it, also in a fresh sandbox.
            lambda_client.delete_layer_version(LayerName='{{first}}', VersionNumber=1)
            lambda_client.delete_layer_version(LayerName='{{first}}', VersionNumber=1)
            out['deleted'] = err(lambda: lambda_client.get_layer_version(LayerName='{{first}}', VersionNumber=1))
            lambda_client.update_function_configuration(FunctionName='{{function}}', Description='fresh sandbox')
            out['after_delete'] = run()
            out['new_user_of_deleted'] = err(lambda: lambda_client.update_function_configuration(FunctionName='{{function}}', Layers=[a['LayerVersionArn']]))
            out['six'] = err(lambda: lambda_client.update_function_configuration(FunctionName='{{function}}', Layers=[a2['LayerVersionArn']] * 6))
            out['same_twice'] = err(lambda: lambda_client.update_function_configuration(FunctionName='{{function}}', Layers=[a2['LayerVersionArn'], a2['LayerVersionArn'].replace(':2', ':1')]))
            out['still'] = [l['Arn'] for l in lambda_client.get_function_configuration(FunctionName='{{function}}')['Layers']]
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        Assert.Equal("[1,2,1]", json["versions"]!.ToJsonString());
        Assert.Equal($"arn:aws:lambda:us-east-1:000000000000:layer:{first}:1", json["arn"]!.GetValue<string>());
        Assert.Equal($"arn:aws:lambda:us-east-1:000000000000:layer:{first}", json["layer_arn"]!.GetValue<string>());
        Assert.True(json["sha_matches"]!.GetValue<bool>());
        Assert.Equal(2, json["config_layers"]!.AsArray().Count);
        Assert.Equal("""{"who":"B","only_a":"from A","tool":"tool-ran"}""", json["a_then_b"]!.ToJsonString());
        Assert.Equal("""{"who":"A","only_a":"from A","tool":"tool-ran"}""", json["b_then_a"]!.ToJsonString());
        Assert.Equal("first", json["get"]!.GetValue<string>());
        Assert.Equal(2, json["by_arn"]!.GetValue<int>());
        Assert.Equal("[2,1]", json["list_versions"]!.ToJsonString());
        Assert.Equal("[2,1]", json["list_layers"]!.ToJsonString());
        Assert.False(json["list_python"]!.GetValue<bool>()); // the newest version (2) declares no runtimes
        Assert.False(json["list_java"]!.GetValue<bool>());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["deleted"]!.ToJsonString());
        Assert.Equal("""{"who":"A","only_a":"from A","tool":"tool-ran"}""", json["after_delete"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["new_user_of_deleted"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["six"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["same_twice"]!.ToJsonString());
        Assert.Equal(2, json["still"]!.AsArray().Count);
    }

    [Fact]
    public async Task NodeModulesFromALayer_AndCustomBootstrapInALayer_Run()
    {
        if (!SharedServer.Bubblewrap)
        {
            Assert.Skip("/opt is mounted by bubblewrap; CI installs it");
        }

        var layer = await PublishAsync(Names.New("lyrnode"), Zip.Of(("nodejs/node_modules/greet/index.js", "module.exports = () => 'hello from a layer';\n")));
        var node = Names.New("lyrnodefn");
        await CreateWithLayersAsync(node, "nodejs20.x", "index.handler", Zip.Of(("index.js", "const greet = require('greet');\nexports.handler = async () => greet();\n")), layer);
        var greeted = await shared.InvokeAsync(node);
        Assert.Equal("\"hello from a layer\"", greeted.Body);

        // A provided runtime whose bootstrap comes from the layer: /opt/bootstrap.
        var runtime = await PublishAsync(Names.New("lyrrt"), Zip.Of(("bootstrap", """
            #!/bin/bash
            while true; do
              headers=$(mktemp)
              curl -sS -D "$headers" -o /tmp/event "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/next"
              id=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$headers" | tr -d '\r' | cut -d' ' -f2)
              curl -sS -X POST -d "\"bootstrap from /opt, handler $_HANDLER\"" "http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation/$id/response" >/dev/null
            done
            """, 0x1ED)));
        var custom = Names.New("lyrcustom");
        await CreateWithLayersAsync(custom, "provided.al2023", "my.handler", Zip.Of(("README", "code without a bootstrap\n")), runtime);
        var ran = await shared.InvokeAsync(custom);
        Assert.Equal(200, ran.Status);
        Assert.Equal("\"bootstrap from /opt, handler my.handler\"", ran.Body);
    }

    [Theory]
    [InlineData("nodejs22.x", "node22")]
    [InlineData("nodejs24.x", "node24")]
    public async Task NodeModulesInTheLayerFolderOfTheRuntimesVersion_AreFound(string runtime, string folder)
    {
        if (!SharedServer.Bubblewrap)
        {
            Assert.Skip("/opt is mounted by bubblewrap; CI installs it");
        }

        // Lambda looks in /opt/nodejs/nodeNN/node_modules for the runtime's own major version.
        var layer = await PublishAsync(Names.New("lyrver"), Zip.Of(($"nodejs/{folder}/node_modules/which/index.js", $"module.exports = () => '{folder}';\n")));
        var name = Names.New("lyrverfn");
        await CreateWithLayersAsync(name, runtime, "index.handler", Zip.Of(("index.js", "exports.handler = async () => [require('which')(), process.env.NODE_PATH];\n")), layer);

        var found = await shared.InvokeAsync(name);

        Assert.Equal(200, found.Status);
        Assert.Equal(folder, found.Json![0]!.GetValue<string>());
        Assert.StartsWith($"/opt/nodejs/{folder}/node_modules:/opt/nodejs/node_modules:", found.Json[1]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LayerPermissions_AddGetRemove_AndRefuseBadStatements_WithAwsCli()
    {
        var name = Names.New("lyrperm");
        var arn = await PublishAsync(name, Zip.Of(("python/x.py", "X = 1\n")));
        var added = await Clients.AwsAsync(shared.Endpoint, "lambda", "add-layer-version-permission", "--layer-name", name, "--version-number", "1",
            "--statement-id", "share", "--action", "lambda:GetLayerVersion", "--principal", "123456789012");
        Assert.True(added.ExitCode == 0, added.Stderr);
        var statement = System.Text.Json.Nodes.JsonNode.Parse(added.Json["Statement"]!.GetValue<string>())!;
        Assert.Equal("arn:aws:iam::123456789012:root", statement["Principal"]!["AWS"]!.GetValue<string>());
        Assert.Equal(arn, statement["Resource"]!.GetValue<string>());

        Assert.Contains("(ResourceConflictException)", (await Clients.AwsAsync(shared.Endpoint, "lambda", "add-layer-version-permission", "--layer-name", name, "--version-number", "1",
            "--statement-id", "share", "--action", "lambda:GetLayerVersion", "--principal", "*")).Stderr, StringComparison.Ordinal);
        Assert.Contains("(ValidationException)", (await Clients.AwsAsync(shared.Endpoint, "lambda", "add-layer-version-permission", "--layer-name", name, "--version-number", "1",
            "--statement-id", "other", "--action", "lambda:InvokeFunction", "--principal", "*")).Stderr, StringComparison.Ordinal);
        Assert.Contains("(ResourceNotFoundException)", (await Clients.AwsAsync(shared.Endpoint, "lambda", "add-layer-version-permission", "--layer-name", name, "--version-number", "9",
            "--statement-id", "other", "--action", "lambda:GetLayerVersion", "--principal", "*")).Stderr, StringComparison.Ordinal);

        var policy = await Clients.AwsAsync(shared.Endpoint, "lambda", "get-layer-version-policy", "--layer-name", name, "--version-number", "1");
        Assert.True(policy.ExitCode == 0, policy.Stderr);
        var document = System.Text.Json.Nodes.JsonNode.Parse(policy.Json["Policy"]!.GetValue<string>())!;
        Assert.Single(document["Statement"]!.AsArray());

        var removed = await Clients.AwsAsync(shared.Endpoint, "lambda", "remove-layer-version-permission", "--layer-name", name, "--version-number", "1", "--statement-id", "share");
        Assert.True(removed.ExitCode == 0, removed.Stderr);
        Assert.Contains("(ResourceNotFoundException)", (await Clients.AwsAsync(shared.Endpoint, "lambda", "get-layer-version-policy", "--layer-name", name, "--version-number", "1")).Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FunctionPlusLayers_Over250MBUnzipped_IsRefused()
    {
        // Zeros compress a thousandfold: two packages of 130 MB unzipped, each allowed alone.
        var layer = await PublishAsync(Names.New("lyrbig"), Zeros("python/big.bin", 130));
        var name = Names.New("lyrbigfn");
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["FunctionName"] = name,
            ["Runtime"] = "python3.12",
            ["Handler"] = "app.handler",
            ["Role"] = "arn:aws:iam::000000000000:role/test",
            ["Code"] = new System.Text.Json.Nodes.JsonObject { ["ZipFile"] = Convert.ToBase64String(Zeros("big.bin", 130)) },
            ["Layers"] = new System.Text.Json.Nodes.JsonArray(layer),
        };
        using var response = await shared.Http.PostAsync("2015-03-31/functions", SharedServer.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("Function code combined with layers exceeds the maximum allowed size of 262144000 bytes", text, StringComparison.Ordinal);
        using var missing = await shared.Http.GetAsync($"2015-03-31/functions/{name}");
        Assert.Equal(404, (int)missing.StatusCode);
    }

    private static byte[] Zeros(string entryName, int megabytes)
    {
        using var buffer = new MemoryStream();
        using (var archive = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            using var entry = archive.CreateEntry(entryName, CompressionLevel.SmallestSize).Open();
            var chunk = new byte[1024 * 1024];
            for (var i = 0; i < megabytes; i++)
            {
                entry.Write(chunk);
            }
        }

        return buffer.ToArray();
    }

    private async Task<string> PublishAsync(string name, byte[] zip)
    {
        var body = new System.Text.Json.Nodes.JsonObject { ["Content"] = new System.Text.Json.Nodes.JsonObject { ["ZipFile"] = Convert.ToBase64String(zip) } };
        using var response = await shared.Http.PostAsync($"2018-10-31/layers/{name}/versions", SharedServer.Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == 201, text);
        return System.Text.Json.Nodes.JsonNode.Parse(text)!["LayerVersionArn"]!.GetValue<string>();
    }

    private async Task CreateWithLayersAsync(string name, string runtime, string handler, byte[] zip, params string[] layers)
    {
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["FunctionName"] = name,
            ["Runtime"] = runtime,
            ["Handler"] = handler,
            ["Role"] = "arn:aws:iam::000000000000:role/test",
            ["Code"] = new System.Text.Json.Nodes.JsonObject { ["ZipFile"] = Convert.ToBase64String(zip) },
            ["Layers"] = new System.Text.Json.Nodes.JsonArray(layers.Select(l => (System.Text.Json.Nodes.JsonNode?)l).ToArray()),
        };
        using var response = await shared.Http.PostAsync("2015-03-31/functions", SharedServer.Json(body));
        Assert.True((int)response.StatusCode == 201, await response.Content.ReadAsStringAsync());
    }
}
