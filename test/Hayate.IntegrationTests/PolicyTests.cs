using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>AddPermission, GetPolicy and RemovePermission store statements in the model's shape.</summary>
public sealed class PolicyTests(SharedServer shared)
{
    [Fact]
    public async Task Permissions_AddGetRemove_WithBoto3()
    {
        var name = Names.New("policy");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(e, c):\n    return 1\n")));
        var result = await Clients.Boto3Async(shared.Endpoint, $$"""
            out = {}
            def code(call):
                try:
                    call()
                    return None
                except botocore.exceptions.ClientError as e:
                    return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
            out['empty'] = code(lambda: lambda_client.get_policy(FunctionName='{{name}}'))
            s3 = lambda_client.add_permission(FunctionName='{{name}}', StatementId='s3-invoke', Action='lambda:InvokeFunction',
                Principal='s3.amazonaws.com', SourceArn='arn:aws:s3:::my-bucket', SourceAccount='123456789012')
            out['statement'] = json.loads(s3['Statement'])
            lambda_client.add_permission(FunctionName='{{name}}', StatementId='account', Action='lambda:GetFunction', Principal='111122223333')
            out['duplicate'] = code(lambda: lambda_client.add_permission(FunctionName='{{name}}', StatementId='account', Action='lambda:GetFunction', Principal='111122223333'))
            out['stale'] = code(lambda: lambda_client.add_permission(FunctionName='{{name}}', StatementId='x', Action='lambda:GetFunction', Principal='*', RevisionId='stale'))
            out['bad_action'] = code(lambda: lambda_client.add_permission(FunctionName='{{name}}', StatementId='y', Action='s3:GetObject', Principal='*'))
            policy = lambda_client.get_policy(FunctionName='{{name}}')
            out['policy'] = json.loads(policy['Policy'])
            out['revision_matches'] = policy['RevisionId'] == lambda_client.get_function(FunctionName='{{name}}')['Configuration']['RevisionId']
            lambda_client.remove_permission(FunctionName='{{name}}', StatementId='s3-invoke')
            out['after_remove'] = [s['Sid'] for s in json.loads(lambda_client.get_policy(FunctionName='{{name}}')['Policy'])['Statement']]
            out['remove_missing'] = code(lambda: lambda_client.remove_permission(FunctionName='{{name}}', StatementId='s3-invoke'))
            out['missing_function'] = code(lambda: lambda_client.add_permission(FunctionName='{{name}}-gone', StatementId='z', Action='lambda:InvokeFunction', Principal='*'))
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        Assert.Equal("""["ResourceNotFoundException",404]""", json["empty"]!.ToJsonString());

        var statement = json["statement"]!;
        Assert.Equal("s3-invoke", statement["Sid"]!.GetValue<string>());
        Assert.Equal("Allow", statement["Effect"]!.GetValue<string>());
        Assert.Equal("s3.amazonaws.com", statement["Principal"]!["Service"]!.GetValue<string>());
        Assert.Equal("lambda:InvokeFunction", statement["Action"]!.GetValue<string>());
        Assert.Equal($"arn:aws:lambda:us-east-1:000000000000:function:{name}", statement["Resource"]!.GetValue<string>());
        Assert.Equal("arn:aws:s3:::my-bucket", statement["Condition"]!["ArnLike"]!["AWS:SourceArn"]!.GetValue<string>());
        Assert.Equal("123456789012", statement["Condition"]!["StringEquals"]!["AWS:SourceAccount"]!.GetValue<string>());

        Assert.Equal("""["ResourceConflictException",409]""", json["duplicate"]!.ToJsonString());
        Assert.Equal("""["PreconditionFailedException",412]""", json["stale"]!.ToJsonString());
        Assert.Equal(400, json["bad_action"]![1]!.GetValue<int>());

        var policy = json["policy"]!;
        Assert.Equal("2012-10-17", policy["Version"]!.GetValue<string>());
        var statements = policy["Statement"]!.AsArray();
        Assert.Equal(["s3-invoke", "account"], statements.Select(s => s!["Sid"]!.GetValue<string>()));
        Assert.Equal("arn:aws:iam::111122223333:root", statements[1]!["Principal"]!["AWS"]!.GetValue<string>());
        Assert.True(json["revision_matches"]!.GetValue<bool>());

        Assert.Equal("""["account"]""", json["after_remove"]!.ToJsonString());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["remove_missing"]!.ToJsonString());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["missing_function"]!.ToJsonString());
    }

    [Fact]
    public async Task AddPermission_Concurrently_KeepsEveryStatement()
    {
        var name = Names.New("policy-par");
        await shared.CreateFunctionAsync(name, "python3.12", "app.handler", Zip.Of(("app.py", "def handler(e, c):\n    return 1\n")));
        var adds = Enumerable.Range(0, 12).Select(async i =>
        {
            using var response = await shared.Http.PostAsync($"2015-03-31/functions/{name}/policy", SharedServer.Json(new JsonObject
            {
                ["StatementId"] = $"sid-{i}",
                ["Action"] = "lambda:InvokeFunction",
                ["Principal"] = "events.amazonaws.com",
            }));
            return (int)response.StatusCode;
        });
        Assert.All(await Task.WhenAll(adds), status => Assert.Equal(201, status));
        var policy = JsonNode.Parse(JsonNode.Parse(await shared.Http.GetStringAsync($"2015-03-31/functions/{name}/policy"))!["Policy"]!.GetValue<string>())!;
        Assert.Equal(12, policy["Statement"]!.AsArray().Count);
    }
}
