using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>
/// A data directory written by the last build that kept one list of migrations (Fixtures/, made by
/// make-single-list-fixture.sh from commit 4aed547) opens in this build with everything in it:
/// functions, versions, aliases, layers, encrypted environments, tags, policies, KMS keys, queued
/// messages, stream records, an event source mapping and an asynchronous event still waiting.
/// </summary>
public sealed class SingleListDataTests
{
    [Fact]
    public async Task Serve_DataDirectoryFromTheSingleListBuild_OpensWithEverythingInItWorking()
    {
        var fixture = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Paths.RepositoryRoot, "test", "Hayate.IntegrationTests", "Fixtures", "single-list-build.json")))!;
        var data = Paths.NewTempDirectory("hayate-single-list");
        foreach (var (name, content) in fixture["files"]!.AsObject())
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(data, name))!);
            await File.WriteAllBytesAsync(Path.Combine(data, name), Convert.FromBase64String(content!.GetValue<string>()));
        }

        var dump = Path.Combine(data, "dump.json");
        await File.WriteAllTextAsync(dump, fixture["sql"]!.ToJsonString());
        var restore = await Clients.RunAsync("python3", ["-c", "import json, sqlite3, sys; db = sqlite3.connect(sys.argv[2]); db.executescript('\\n'.join(json.load(open(sys.argv[1])))); db.close()", dump, Path.Combine(data, "hayate.db")]);
        Assert.True(restore.ExitCode == 0, restore.Stderr);

        await using var server = await ServerProcess.StartAsync(data, "--async-retry-delay", "1");
        var facts = fixture["facts"]!;
        var result = await Clients.Boto3Async(server.Endpoint, $$$"""
            import time
            kms = boto3.client('kms', endpoint_url='{{{server.Endpoint}}}', config=Config(retries={'max_attempts': 0}))
            sqs = boto3.client('sqs', endpoint_url='{{{server.Endpoint}}}', config=Config(retries={'max_attempts': 0}))
            kin = boto3.client('kinesis', endpoint_url='{{{server.Endpoint}}}', config=Config(retries={'max_attempts': 0}))
            out = {}
            out['functions'] = sorted(f['FunctionName'] for f in lambda_client.list_functions()['Functions'])
            fn = lambda_client.get_function(FunctionName='legacy-fn')
            out['tags'] = fn.get('Tags')
            out['layers'] = [l['Arn'].split(':')[-2:] for l in fn['Configuration'].get('Layers', [])]
            out['kmsKey'] = fn['Configuration'].get('KMSKeyArn', '').endswith('{{{facts["keyId"]}}}')
            out['env'] = fn['Configuration']['Environment']['Variables']
            out['versions'] = [v['Version'] for v in lambda_client.list_versions_by_function(FunctionName='legacy-fn')['Versions']]
            out['alias'] = lambda_client.get_alias(FunctionName='legacy-fn', Name='live')['FunctionVersion']
            out['policy'] = [s['Sid'] for s in json.loads(lambda_client.get_policy(FunctionName='legacy-fn')['Policy'])['Statement']]
            run = lambda q: json.loads(lambda_client.invoke(FunctionName='legacy-fn', Qualifier=q)['Payload'].read())
            out['latest'], out['live'] = run('$LATEST'), run('live')
            out['layerVersions'] = [v['Version'] for v in lambda_client.list_layer_versions(LayerName='legacy-layer')['LayerVersions']]
            out['decrypted'] = kms.decrypt(CiphertextBlob=base64.b64decode('{{{facts["ciphertext"]}}}'))['Plaintext'].decode()
            out['kmsAlias'] = [a['AliasName'] for a in kms.list_aliases()['Aliases'] if a.get('TargetKeyId') == '{{{facts["keyId"]}}}']
            url = sqs.get_queue_url(QueueName='legacy-queue')['QueueUrl']
            out['messages'] = sorted(m['Body'] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)['Messages'])
            records = []
            for shard in kin.list_shards(StreamName='legacy-stream')['Shards']:
                it = kin.get_shard_iterator(StreamName='legacy-stream', ShardId=shard['ShardId'], ShardIteratorType='TRIM_HORIZON')['ShardIterator']
                records += [r['Data'].decode() for r in kin.get_records(ShardIterator=it)['Records']]
            out['records'] = sorted(records)
            out['mappings'] = [(m['State'], m['BatchSize']) for m in lambda_client.list_event_source_mappings(FunctionName='legacy-fn')['EventSourceMappings']]
            # The waiting event runs once the function may run, and its record reaches the OnSuccess queue.
            lambda_client.delete_function_concurrency(FunctionName='legacy-async')
            done = sqs.get_queue_url(QueueName='legacy-done')['QueueUrl']
            record = None
            deadline = time.time() + 60
            while record is None and time.time() < deadline:
                got = sqs.receive_message(QueueUrl=done, WaitTimeSeconds=2).get('Messages', [])
                record = json.loads(got[0]['Body']) if got else None
            out['async'] = record and [record['requestContext']['requestId'], record['responsePayload']]
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr + "\n" + server.StandardError);
        var json = result.Json;

        Assert.Equal(["legacy-async", "legacy-fn"], json["functions"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("legacy", json["tags"]!["team"]!.GetValue<string>());
        Assert.Equal("""[["legacy-layer","1"]]""", json["layers"]!.ToJsonString());
        Assert.True(json["kmsKey"]!.GetValue<bool>());
        Assert.Equal("sealed at rest", json["env"]!["SECRET"]!.GetValue<string>());
        Assert.Equal(["$LATEST", "1", "2"], json["versions"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("1", json["alias"]!.GetValue<string>());
        Assert.Equal(["legacy-s3"], json["policy"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal(2, json["latest"]!["code"]!.GetValue<int>());
        Assert.Equal(1, json["live"]!["code"]!.GetValue<int>());
        Assert.Equal("sealed at rest", json["live"]!["secret"]!.GetValue<string>());
        if (SharedServer.Bubblewrap)
        {
            // Layers are mounted at /opt only in a sandbox.
            Assert.Equal("from the layer", json["latest"]!["layer"]!.GetValue<string>());
        }

        Assert.Equal("[1]", json["layerVersions"]!.ToJsonString());
        Assert.Equal("kept across builds", json["decrypted"]!.GetValue<string>());
        Assert.Equal("""["alias/legacy"]""", json["kmsAlias"]!.ToJsonString());
        Assert.Equal("""["first","second"]""", json["messages"]!.ToJsonString());
        Assert.Equal("""["record 0","record 1","record 2","record 3"]""", json["records"]!.ToJsonString());
        Assert.Equal("""[["Disabled",5]]""", json["mappings"]!.ToJsonString());
        Assert.Equal($$"""["{{facts["asyncRequestId"]}}",{"ran":"waited for the new build"}]""", json["async"]!.ToJsonString());
    }
}
