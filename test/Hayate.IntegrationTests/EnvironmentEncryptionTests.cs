using System.Text;
using Hayate.Testing;

namespace Hayate.IntegrationTests;

/// <summary>Environment variables are envelope-encrypted at rest under KMS keys; a key's state decides whether invocations run.</summary>
public sealed class EnvironmentEncryptionTests(SharedServer shared)
{
    private static byte[] EnvReporter() => Zip.Of(("app.py", "import os\ndef handler(e, c):\n    return os.environ.get('SECRET_VALUE')\n"));

    [Fact]
    public async Task SecretVariable_NeverReachesTheDataDirectory_AndStillReachesTheFunction()
    {
        var data = Directory.CreateTempSubdirectory("hayate-secret-").FullName;
        try
        {
            var secret = "s3cr3t-" + Guid.NewGuid().ToString("N");
            var updated = "upd4ted-" + Guid.NewGuid().ToString("N");
            await using (var server = await ServerProcess.StartAsync(data))
            {
                using var http = new HttpClient { BaseAddress = new Uri(server.Endpoint + "/") };
                var name = Names.New("secret");
                var created = await SharedServer.CreateFunctionAsync(http, name, "python3.12", "app.handler", EnvReporter(), environment: new Dictionary<string, string> { ["SECRET_VALUE"] = secret });
                Assert.Equal(secret, created["Environment"]!["Variables"]!["SECRET_VALUE"]!.GetValue<string>());
                Assert.Null(created["KMSKeyArn"]); // the default key is not shown, as on Lambda

                var result = await Clients.Boto3Async(server.Endpoint, $$"""
                    out = {'invoke': json.loads(lambda_client.invoke(FunctionName='{{name}}')['Payload'].read())}
                    v1 = lambda_client.publish_version(FunctionName='{{name}}')['Version']
                    lambda_client.update_function_configuration(FunctionName='{{name}}', Environment=dict(Variables=dict(SECRET_VALUE='{{updated}}')))
                    out['v1'] = json.loads(lambda_client.invoke(FunctionName='{{name}}', Qualifier=v1)['Payload'].read())
                    out['latest'] = json.loads(lambda_client.invoke(FunctionName='{{name}}')['Payload'].read())
                    out['config'] = lambda_client.get_function_configuration(FunctionName='{{name}}')['Environment']['Variables']['SECRET_VALUE']
                    out['listed'] = [f['Environment']['Variables']['SECRET_VALUE'] for f in lambda_client.list_functions()['Functions'] if f['FunctionName'] == '{{name}}']
                    kms = boto3.client('kms', endpoint_url='{{server.Endpoint}}')
                    out['default_key'] = kms.describe_key(KeyId='alias/aws/lambda')['KeyMetadata']['KeyManager']
                    print(json.dumps(out))
                    """);
                Assert.True(result.ExitCode == 0, result.Stderr);
                var json = result.Json;
                Assert.Equal(secret, json["invoke"]!.GetValue<string>());
                Assert.Equal(secret, json["v1"]!.GetValue<string>());
                Assert.Equal(updated, json["latest"]!.GetValue<string>());
                Assert.Equal(updated, json["config"]!.GetValue<string>());
                Assert.Equal($"[\"{updated}\"]", json["listed"]!.ToJsonString());
                Assert.Equal("AWS", json["default_key"]!.GetValue<string>());
            }

            // The server is stopped: everything it wrote is on disk now, the WAL included.
            foreach (var file in Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories))
            {
                var bytes = await File.ReadAllBytesAsync(file);
                foreach (var value in new[] { secret, updated })
                {
                    Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(value)) < 0, $"{file} holds a plaintext environment value");
                    Assert.True(bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(value)) < 0, $"{file} holds a plaintext environment value (UTF-16)");
                }
            }

            // And it all decrypts again after a restart.
            await using var again = await ServerProcess.StartAsync(data);
            var names = await Clients.AwsAsync(again.Endpoint, "lambda", "list-functions");
            Assert.Contains(updated, names.Stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task CustomerKey_DisabledOrPendingDeletion_FailsInvocationsWithLambdasKmsErrors_WithBoto3()
    {
        var name = Names.New("kmsfn");
        var code = Convert.ToBase64String(EnvReporter());
        var result = await Clients.Boto3Async(shared.Endpoint, $$"""
            kms = boto3.client('kms', endpoint_url='{{shared.Endpoint}}')
            def run():
                return json.loads(lambda_client.invoke(FunctionName='{{name}}')['Payload'].read())
            key = kms.create_key(Description='for {{name}}')['KeyMetadata']
            out = {}
            out['missing_key'] = err(lambda: lambda_client.create_function(FunctionName='{{name}}', Runtime='python3.12', Handler='app.handler',
                Role='arn:aws:iam::000000000000:role/x', Code={'ZipFile': base64.b64decode('{{code}}')},
                Environment=dict(Variables=dict(SECRET_VALUE='x')), KMSKeyArn=key['Arn'].replace(key['KeyId'], '00000000-0000-0000-0000-000000000000')))
            out['not_created'] = err(lambda: lambda_client.get_function(FunctionName='{{name}}'))
            created = lambda_client.create_function(FunctionName='{{name}}', Runtime='python3.12', Handler='app.handler',
                Role='arn:aws:iam::000000000000:role/x', Code={'ZipFile': base64.b64decode('{{code}}')},
                Environment=dict(Variables=dict(SECRET_VALUE='customer')), KMSKeyArn=key['Arn'])
            out['kms_key_arn'] = created['KMSKeyArn'] == key['Arn']
            out['enabled'] = run()
            kms.disable_key(KeyId=key['KeyId'])
            out['disabled'] = err(run)
            out['disabled_config'] = lambda_client.get_function_configuration(FunctionName='{{name}}')['Environment'].get('Error', {}).get('ErrorCode')
            kms.enable_key(KeyId=key['KeyId'])
            out['enabled_again'] = run()
            kms.schedule_key_deletion(KeyId=key['KeyId'], PendingWindowInDays=7)
            out['pending_deletion'] = err(run)
            # Back to the default key: the function runs again.
            lambda_client.update_function_configuration(FunctionName='{{name}}', KMSKeyArn='')
            out['default_again'] = run()
            out['default_arn'] = lambda_client.get_function_configuration(FunctionName='{{name}}').get('KMSKeyArn')
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        Assert.Equal("""["InvalidParameterValueException",400]""", json["missing_key"]!.ToJsonString());
        Assert.Equal("""["ResourceNotFoundException",404]""", json["not_created"]!.ToJsonString());
        Assert.True(json["kms_key_arn"]!.GetValue<bool>());
        Assert.Equal("customer", json["enabled"]!.GetValue<string>());
        Assert.Equal("""["KMSDisabledException",502]""", json["disabled"]!.ToJsonString());
        Assert.Equal("KMSDisabledException", json["disabled_config"]!.GetValue<string>());
        Assert.Equal("customer", json["enabled_again"]!.GetValue<string>());
        Assert.Equal("""["KMSInvalidStateException",502]""", json["pending_deletion"]!.ToJsonString());
        Assert.Equal("customer", json["default_again"]!.GetValue<string>());
        Assert.Null(json["default_arn"]);
    }

    [Fact]
    public async Task UpdatingAFunctionWhoseKeyIsDisabled_KeepsItsVariables_AcrossARestart()
    {
        var data = Paths.NewTempDirectory("hayate-kms-restart");
        var name = Names.New("kmskeep");
        var code = Convert.ToBase64String(EnvReporter());
        string keyId;
        await using (var server = await ServerProcess.StartAsync(data))
        {
            var created = await Clients.Boto3Async(server.Endpoint, $$"""
                kms = boto3.client('kms', endpoint_url='{{server.Endpoint}}')
                key = kms.create_key()['KeyMetadata']
                lambda_client.create_function(FunctionName='{{name}}', Runtime='python3.12', Handler='app.handler',
                    Role='arn:aws:iam::000000000000:role/x', Code={'ZipFile': base64.b64decode('{{code}}')},
                    Environment=dict(Variables=dict(SECRET_VALUE='kept')), KMSKeyArn=key['Arn'])
                kms.disable_key(KeyId=key['KeyId'])
                print(json.dumps({'key': key['KeyId']}))
                """);
            Assert.True(created.ExitCode == 0, created.Stderr);
            keyId = created.Json["key"]!.GetValue<string>();
        }

        // After a restart nothing is cached: the variables cannot be read while the key is disabled.
        await using var again = await ServerProcess.StartAsync(data);
        var result = await Clients.Boto3Async(again.Endpoint, $$"""
            kms = boto3.client('kms', endpoint_url='{{again.Endpoint}}')
            out = {}
            lambda_client.update_function_configuration(FunctionName='{{name}}', Timeout=10)
            out['while_disabled'] = err(lambda: lambda_client.invoke(FunctionName='{{name}}'))
            out['rekey_refused'] = err(lambda: lambda_client.update_function_configuration(FunctionName='{{name}}', KMSKeyArn=''))
            kms.enable_key(KeyId='{{keyId}}')
            out['after_enable'] = json.loads(lambda_client.invoke(FunctionName='{{name}}')['Payload'].read())
            out['timeout'] = lambda_client.get_function_configuration(FunctionName='{{name}}')['Timeout']
            print(json.dumps(out))
            """);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var json = result.Json;
        Assert.Equal("""["KMSDisabledException",502]""", json["while_disabled"]!.ToJsonString());
        Assert.Equal("KMSDisabledException", json["rekey_refused"]![0]!.GetValue<string>());
        Assert.Equal("kept", json["after_enable"]!.GetValue<string>());
        Assert.Equal(10, json["timeout"]!.GetValue<int>());
    }
}
