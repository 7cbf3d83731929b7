using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>TagResource, UntagResource, ListTags and Tags on create, with boto3 and the AWS CLI.</summary>
public sealed class TagTests(SharedServer shared)
{
    private static string Arn(string name) => $"arn:aws:lambda:us-east-1:000000000000:function:{name}";

    [Fact]
    public async Task Tags_CreateTagUntagList_WithBoto3()
    {
        var name = Names.New("tags");
        var zip = Convert.ToBase64String(Zip.Of(("app.py", "def handler(e, c):\n    return 1\n")));
        var result = await Clients.Boto3Async(shared.Endpoint, $$"""
            import base64
            arn = '{{Arn(name)}}'
            created = lambda_client.create_function(FunctionName='{{name}}', Runtime='python3.12', Handler='app.handler',
                Role='arn:aws:iam::000000000000:role/x', Code={'ZipFile': base64.b64decode('{{zip}}')}, Tags={'team': 'core', 'env': 'dev'})
            out = {'after_create': lambda_client.list_tags(Resource=arn)['Tags'],
                   'get_function': lambda_client.get_function(FunctionName='{{name}}').get('Tags')}
            revision = lambda_client.get_function(FunctionName='{{name}}')['Configuration']['RevisionId']
            lambda_client.tag_resource(Resource=arn, Tags={'env': 'prod', 'cost': '42'})
            out['after_tag'] = lambda_client.list_tags(Resource=arn)['Tags']
            lambda_client.untag_resource(Resource=arn, TagKeys=['team', 'not-there'])
            out['after_untag'] = lambda_client.list_tags(Resource=arn)['Tags']
            out['revision_unchanged'] = lambda_client.get_function(FunctionName='{{name}}')['Configuration']['RevisionId'] == revision
            errors = {}
            for label, call in [
                ('qualified', lambda: lambda_client.list_tags(Resource=arn + ':$LATEST')),
                ('missing', lambda: lambda_client.list_tags(Resource=arn + 'nope')),
                ('reserved', lambda: lambda_client.tag_resource(Resource=arn, Tags={'aws:owner': 'me'})),
                ('bare_name', lambda: lambda_client.list_tags(Resource='{{name}}')),
            ]:
                try:
                    call()
                    errors[label] = None
                except botocore.exceptions.ClientError as e:
                    errors[label] = [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
            out['errors'] = errors
            out['after_errors'] = lambda_client.list_tags(Resource=arn)['Tags']
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        Assert.Equal("""{"env":"dev","team":"core"}""", Sorted(json["after_create"]));
        Assert.Equal(Sorted(json["after_create"]), Sorted(json["get_function"]));
        Assert.Equal("""{"cost":"42","env":"prod","team":"core"}""", Sorted(json["after_tag"]));
        Assert.Equal("""{"cost":"42","env":"prod"}""", Sorted(json["after_untag"]));
        Assert.True(json["revision_unchanged"]!.GetValue<bool>());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["errors"]!["qualified"]!.ToJsonString());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["errors"]!["missing"]!.ToJsonString());
        Assert.Equal("""["InvalidParameterValueException",400]""", json["errors"]!["reserved"]!.ToJsonString());
        Assert.Equal(400, json["errors"]!["bare_name"]![1]!.GetValue<int>());
        // A refused change changes nothing.
        Assert.Equal("""{"cost":"42","env":"prod"}""", Sorted(json["after_errors"]));
    }

    [Fact]
    public async Task ListTags_WithAwsCli_ShowsTagsAndDeleteRemovesThem()
    {
        var name = Names.New("tagcli");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(e, c):\n    return 1\n")));
        var tagged = await Clients.AwsAsync(shared.Endpoint, "lambda", "tag-resource", "--resource", Arn(name), "--tags", "owner=ops");
        Assert.True(tagged.ExitCode == 0, tagged.Stderr);
        var listed = await Clients.AwsAsync(shared.Endpoint, "lambda", "list-tags", "--resource", Arn(name));
        Assert.True(listed.ExitCode == 0, listed.Stderr);
        Assert.Equal("ops", listed.Json["Tags"]!["owner"]!.GetValue<string>());

        using (var deleted = await shared.Http.DeleteAsync($"2015-03-31/functions/{name}"))
        {
            Assert.Equal(204, (int)deleted.StatusCode);
        }

        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(e, c):\n    return 1\n")));
        var again = await Clients.AwsAsync(shared.Endpoint, "lambda", "list-tags", "--resource", Arn(name));
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Empty(again.Json["Tags"]!.AsObject());
    }

    private static string Sorted(JsonNode? node) =>
        new JsonObject(node!.AsObject().OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, p.Value?.DeepClone()))).ToJsonString();

    [Fact]
    public async Task TagResource_ManyAtOnce_LosesNoTag()
    {
        var name = Names.New("tagrace");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(e, c):\n    return 1\n")));
        var resource = Uri.EscapeDataString(Arn(name));
        await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            var body = new JsonObject { ["Tags"] = new JsonObject { [$"key{i}"] = $"value{i}" } };
            using var response = await shared.Http.PostAsync($"2017-03-31/tags/{resource}", SharedServer.Json(body));
            Assert.Equal(204, (int)response.StatusCode);
        }));
        var tags = JsonNode.Parse(await shared.Http.GetStringAsync($"2017-03-31/tags/{resource}"))!["Tags"]!.AsObject();
        Assert.Equal(20, tags.Count);
    }
}
