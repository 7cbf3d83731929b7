using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Hayate.Testing;

namespace Hayate.Kms.Tests;

/// <summary>The KMS JSON protocol on the Lambda port, with the AWS CLI, boto3 and raw HTTP; the master key and persistence with private servers.</summary>
public sealed class KmsTests(SharedServer shared)
{
    private const string LambdaKeyDescription = "Default key that protects my Lambda functions when no other key is defined";

    /// <summary>Runs a boto3 script with `kms` bound to a KMS client for <paramref name="endpoint"/> and `err(fn)` giving [code, status] or None.</summary>
    private static async Task<JsonNode> KmsAsync(string endpoint, string script)
    {
        var prelude = $$"""
            kms = boto3.client('kms', endpoint_url='{{endpoint}}', region_name='us-east-1', config=Config(retries={'max_attempts': 0}))
            def err(fn):
                try:
                    fn()
                    return None
                except botocore.exceptions.ClientError as e:
                    return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
            def b64(b):
                return base64.b64encode(b).decode()
            """;
        var result = await Clients.Boto3Async(endpoint, prelude + "\n" + script);
        Assert.True(result.ExitCode == 0, result.Stderr + result.Stdout);
        return result.Json;
    }

    private static async Task<ClientResult> CliAsync(string endpoint, params string[] args) => await Clients.AwsAsync(endpoint, ["kms", .. args]);

    private static async Task<JsonNode> CliOkAsync(string endpoint, params string[] args)
    {
        var result = await CliAsync(endpoint, args);
        Assert.True(result.ExitCode == 0, $"aws kms {string.Join(' ', args)}: {result.Stderr}");
        return result.Stdout.Length == 0 ? new JsonObject() : result.Json;
    }

    private static void AssertCliError(ClientResult result, string type)
    {
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"({type})", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateDescribeList_WithAwsCli_ShowKeyMetadata()
    {
        var created = (await CliOkAsync(shared.Endpoint, "create-key", "--description", "orders key", "--tags", "TagKey=team,TagValue=core"))["KeyMetadata"]!;
        var id = created["KeyId"]!.GetValue<string>();
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", id);
        Assert.Equal($"arn:aws:kms:us-east-1:000000000000:key/{id}", created["Arn"]!.GetValue<string>());
        Assert.Equal("000000000000", created["AWSAccountId"]!.GetValue<string>());
        Assert.Equal("orders key", created["Description"]!.GetValue<string>());
        Assert.Equal("Enabled", created["KeyState"]!.GetValue<string>());
        Assert.True(created["Enabled"]!.GetValue<bool>());
        Assert.Equal("ENCRYPT_DECRYPT", created["KeyUsage"]!.GetValue<string>());
        Assert.Equal("SYMMETRIC_DEFAULT", created["KeySpec"]!.GetValue<string>());
        Assert.Equal("CUSTOMER", created["KeyManager"]!.GetValue<string>());
        Assert.Equal("""["SYMMETRIC_DEFAULT"]""", created["EncryptionAlgorithms"]!.ToJsonString());
        Assert.InRange(created["CreationDate"]!.GetValue<double>(), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds());

        var byArn = (await CliOkAsync(shared.Endpoint, "describe-key", "--key-id", created["Arn"]!.GetValue<string>()))["KeyMetadata"]!;
        Assert.Equal(created.ToJsonString(), byArn.ToJsonString());

        var listed = (await CliOkAsync(shared.Endpoint, "list-keys"))["Keys"]!.AsArray();
        Assert.Contains(listed, k => k!["KeyId"]!.GetValue<string>() == id && k["KeyArn"]!.GetValue<string>() == created["Arn"]!.GetValue<string>());

        AssertCliError(await CliAsync(shared.Endpoint, "describe-key", "--key-id", Guid.NewGuid().ToString()), "NotFoundException");
        AssertCliError(await CliAsync(shared.Endpoint, "describe-key", "--key-id", "not-a-key"), "NotFoundException");
        AssertCliError(await CliAsync(shared.Endpoint, "create-key", "--key-usage", "SIGN_VERIFY"), "UnsupportedOperationException");
    }

    [Fact]
    public async Task ListKeys_WithLimitAndMarker_PagesThroughEveryKey()
    {
        var json = await KmsAsync(shared.Endpoint, """
            mine = {kms.create_key()['KeyMetadata']['KeyId'] for _ in range(3)}
            seen, pages, marker = [], 0, None
            while True:
                page = kms.list_keys(Limit=2, **({'Marker': marker} if marker else {}))
                pages += 1
                assert len(page['Keys']) <= 2
                seen += [k['KeyId'] for k in page['Keys']]
                if not page['Truncated']:
                    assert 'NextMarker' not in page
                    break
                marker = page['NextMarker']
            print(json.dumps({'missing': sorted(mine - set(seen)), 'duplicates': len(seen) - len(set(seen)), 'pages': pages,
                              'bad_limit': err(lambda: kms.list_keys(Limit=1001))}))
            """);
        Assert.Empty(json["missing"]!.AsArray());
        Assert.Equal(0, json["duplicates"]!.GetValue<int>());
        Assert.True(json["pages"]!.GetValue<int>() >= 2);
        Assert.Equal("""["ValidationException",400]""", json["bad_limit"]!.ToJsonString());
    }

    [Fact]
    public async Task EncryptDecrypt_WithEveryKeyIdForm_RoundTrips()
    {
        var alias = "alias/" + Names.New("forms");
        var json = await KmsAsync(shared.Endpoint, $$"""
            key = kms.create_key()['KeyMetadata']
            other = kms.create_key()['KeyMetadata']
            kms.create_alias(AliasName='{{alias}}', TargetKeyId=key['KeyId'])
            forms = {'id': key['KeyId'], 'arn': key['Arn'], 'alias': '{{alias}}', 'alias_arn': 'arn:aws:kms:us-east-1:000000000000:{{alias}}'}
            out = {'key_arn': key['Arn']}
            for name, form in forms.items():
                text = ('secret via ' + name).encode()
                enc = kms.encrypt(KeyId=form, Plaintext=text)
                dec = kms.decrypt(CiphertextBlob=enc['CiphertextBlob'])
                named = kms.decrypt(CiphertextBlob=enc['CiphertextBlob'], KeyId=form)
                out[name] = {'enc_key': enc['KeyId'], 'dec_key': dec['KeyId'], 'algorithm': enc['EncryptionAlgorithm'],
                             'ok': dec['Plaintext'] == text and named['Plaintext'] == text}
            blob = kms.encrypt(KeyId=key['KeyId'], Plaintext=b'x')['CiphertextBlob']
            out['two_blobs_differ'] = blob != kms.encrypt(KeyId=key['KeyId'], Plaintext=b'x')['CiphertextBlob']
            out['wrong_key'] = err(lambda: kms.decrypt(CiphertextBlob=blob, KeyId=other['KeyId']))
            out['other_region'] = err(lambda: kms.encrypt(KeyId=key['Arn'].replace('us-east-1', 'eu-west-1'), Plaintext=b'x'))
            out['unknown_alias'] = err(lambda: kms.encrypt(KeyId='alias/none-such-alias', Plaintext=b'x'))
            out['unknown_key'] = err(lambda: kms.encrypt(KeyId='11111111-2222-3333-4444-555555555555', Plaintext=b'x'))
            out['too_long'] = err(lambda: kms.encrypt(KeyId=key['KeyId'], Plaintext=b'x' * 4097))
            print(json.dumps(out))
            """);
        var arn = json["key_arn"]!.GetValue<string>();
        foreach (var form in new[] { "id", "arn", "alias", "alias_arn" })
        {
            Assert.True(json[form]!["ok"]!.GetValue<bool>(), form);
            Assert.Equal(arn, json[form]!["enc_key"]!.GetValue<string>());
            Assert.Equal(arn, json[form]!["dec_key"]!.GetValue<string>());
            Assert.Equal("SYMMETRIC_DEFAULT", json[form]!["algorithm"]!.GetValue<string>());
        }

        Assert.True(json["two_blobs_differ"]!.GetValue<bool>());
        Assert.Equal("""["IncorrectKeyException",400]""", json["wrong_key"]!.ToJsonString());
        Assert.Equal("""["NotFoundException",400]""", json["other_region"]!.ToJsonString());
        Assert.Equal("""["NotFoundException",400]""", json["unknown_alias"]!.ToJsonString());
        Assert.Equal("""["NotFoundException",400]""", json["unknown_key"]!.ToJsonString());
        Assert.Equal("""["ValidationException",400]""", json["too_long"]!.ToJsonString());
    }

    [Fact]
    public async Task Decrypt_WithOtherEncryptionContextOrAlteredBlob_IsInvalidCiphertext()
    {
        var json = await KmsAsync(shared.Endpoint, """
            key = kms.create_key()['KeyMetadata']['KeyId']
            blob = kms.encrypt(KeyId=key, Plaintext=b'payload', EncryptionContext={'fn': 'orders', 'stage': 'prod'})['CiphertextBlob']
            altered = bytearray(blob); altered[-1] ^= 1
            out = {
                'same_other_order': kms.decrypt(CiphertextBlob=blob, EncryptionContext={'stage': 'prod', 'fn': 'orders'})['Plaintext'].decode(),
                'missing': err(lambda: kms.decrypt(CiphertextBlob=blob)),
                'subset': err(lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext={'fn': 'orders'})),
                'other_value': err(lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext={'fn': 'orders', 'stage': 'dev'})),
                'superset': err(lambda: kms.decrypt(CiphertextBlob=blob, EncryptionContext={'fn': 'orders', 'stage': 'prod', 'x': 'y'})),
                'altered': err(lambda: kms.decrypt(CiphertextBlob=bytes(altered), EncryptionContext={'fn': 'orders', 'stage': 'prod'})),
                'garbage': err(lambda: kms.decrypt(CiphertextBlob=b'not a ciphertext blob at all')),
            }
            print(json.dumps(out))
            """);
        Assert.Equal("payload", json["same_other_order"]!.GetValue<string>());
        foreach (var case_ in new[] { "missing", "subset", "other_value", "superset", "altered", "garbage" })
        {
            Assert.Equal("""["InvalidCiphertextException",400]""", json[case_]!.ToJsonString());
        }
    }

    [Fact]
    public async Task DisableKey_RefusesEncryptAndDecrypt_UntilEnabledAgain_WithAwsCli()
    {
        var id = (await CliOkAsync(shared.Endpoint, "create-key"))["KeyMetadata"]!["KeyId"]!.GetValue<string>();
        var blob = Convert.FromBase64String((await CliOkAsync(shared.Endpoint, "encrypt", "--key-id", id, "--plaintext", "hello"))["CiphertextBlob"]!.GetValue<string>());
        var file = Path.Combine(Paths.NewTempDirectory("kms"), "blob.bin");
        await File.WriteAllBytesAsync(file, blob);

        await CliOkAsync(shared.Endpoint, "disable-key", "--key-id", id);
        var described = (await CliOkAsync(shared.Endpoint, "describe-key", "--key-id", id))["KeyMetadata"]!;
        Assert.Equal("Disabled", described["KeyState"]!.GetValue<string>());
        Assert.False(described["Enabled"]!.GetValue<bool>());
        var refused = await CliAsync(shared.Endpoint, "encrypt", "--key-id", id, "--plaintext", "hello");
        AssertCliError(refused, "DisabledException");
        Assert.Contains($"arn:aws:kms:us-east-1:000000000000:key/{id} is disabled.", refused.Stderr, StringComparison.Ordinal);
        AssertCliError(await CliAsync(shared.Endpoint, "decrypt", "--ciphertext-blob", "fileb://" + file), "DisabledException");
        AssertCliError(await CliAsync(shared.Endpoint, "generate-data-key", "--key-id", id, "--key-spec", "AES_256"), "DisabledException");

        await CliOkAsync(shared.Endpoint, "enable-key", "--key-id", id);
        var decrypted = await CliOkAsync(shared.Endpoint, "decrypt", "--ciphertext-blob", "fileb://" + file);
        Assert.Equal("hello", Encoding.UTF8.GetString(Convert.FromBase64String(decrypted["Plaintext"]!.GetValue<string>())));
        Assert.Equal($"arn:aws:kms:us-east-1:000000000000:key/{id}", decrypted["KeyId"]!.GetValue<string>());
    }

    [Fact]
    public async Task ScheduleKeyDeletion_MakesKeyPendingDeletion_AndRefusesUse()
    {
        var json = await KmsAsync(shared.Endpoint, """
            import time
            key = kms.create_key()['KeyMetadata']
            blob = kms.encrypt(KeyId=key['KeyId'], Plaintext=b'x')['CiphertextBlob']
            out = {'too_short': err(lambda: kms.schedule_key_deletion(KeyId=key['KeyId'], PendingWindowInDays=6)),
                   'by_alias': err(lambda: kms.disable_key(KeyId='alias/whatever'))}
            scheduled = kms.schedule_key_deletion(KeyId=key['Arn'], PendingWindowInDays=7)
            out['scheduled'] = {'KeyId': scheduled['KeyId'], 'KeyState': scheduled['KeyState'], 'Window': scheduled['PendingWindowInDays'],
                                'days': (scheduled['DeletionDate'].timestamp() - time.time()) / 86400}
            meta = kms.describe_key(KeyId=key['KeyId'])['KeyMetadata']
            out['described'] = [meta['KeyState'], meta['Enabled'], meta['PendingDeletionWindowInDays'], 'DeletionDate' in meta]
            out['encrypt'] = err(lambda: kms.encrypt(KeyId=key['KeyId'], Plaintext=b'x'))
            out['decrypt'] = err(lambda: kms.decrypt(CiphertextBlob=blob))
            out['enable'] = err(lambda: kms.enable_key(KeyId=key['KeyId']))
            out['again'] = err(lambda: kms.schedule_key_deletion(KeyId=key['KeyId']))
            print(json.dumps(out))
            """);
        Assert.Equal("""["ValidationException",400]""", json["too_short"]!.ToJsonString());
        Assert.Equal("""["NotFoundException",400]""", json["by_alias"]!.ToJsonString());
        var scheduled = json["scheduled"]!;
        Assert.StartsWith("arn:aws:kms:us-east-1:000000000000:key/", scheduled["KeyId"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("PendingDeletion", scheduled["KeyState"]!.GetValue<string>());
        Assert.Equal(7, scheduled["Window"]!.GetValue<int>());
        Assert.InRange(scheduled["days"]!.GetValue<double>(), 6.9, 7.1);
        Assert.Equal("""["PendingDeletion",false,7,true]""", json["described"]!.ToJsonString());
        foreach (var op in new[] { "encrypt", "decrypt", "enable", "again" })
        {
            Assert.Equal("""["KMSInvalidStateException",400]""", json[op]!.ToJsonString());
        }
    }

    [Fact]
    public async Task GenerateDataKey_PlaintextComesBackFromItsCiphertextBlob()
    {
        var json = await KmsAsync(shared.Endpoint, """
            key = kms.create_key()['KeyMetadata']
            out = {}
            for label, args in [('aes256', {'KeySpec': 'AES_256'}), ('aes128', {'KeySpec': 'AES_128'}), ('bytes64', {'NumberOfBytes': 64})]:
                dk = kms.generate_data_key(KeyId=key['KeyId'], EncryptionContext={'purpose': 'test'}, **args)
                back = kms.decrypt(CiphertextBlob=dk['CiphertextBlob'], EncryptionContext={'purpose': 'test'})
                out[label] = {'size': len(dk['Plaintext']), 'same': back['Plaintext'] == dk['Plaintext'], 'key': dk['KeyId'],
                              'no_context': err(lambda: kms.decrypt(CiphertextBlob=dk['CiphertextBlob']))}
            out['fresh'] = kms.generate_data_key(KeyId=key['KeyId'], KeySpec='AES_256')['Plaintext'] != kms.generate_data_key(KeyId=key['KeyId'], KeySpec='AES_256')['Plaintext']
            out['neither'] = err(lambda: kms.generate_data_key(KeyId=key['KeyId']))
            out['both'] = err(lambda: kms.generate_data_key(KeyId=key['KeyId'], KeySpec='AES_256', NumberOfBytes=32))
            out['arn'] = key['Arn']
            print(json.dumps(out))
            """);
        foreach (var (label, size) in new[] { ("aes256", 32), ("aes128", 16), ("bytes64", 64) })
        {
            Assert.Equal(size, json[label]!["size"]!.GetValue<int>());
            Assert.True(json[label]!["same"]!.GetValue<bool>(), label);
            Assert.Equal(json["arn"]!.GetValue<string>(), json[label]!["key"]!.GetValue<string>());
            Assert.Equal("""["InvalidCiphertextException",400]""", json[label]!["no_context"]!.ToJsonString());
        }

        Assert.True(json["fresh"]!.GetValue<bool>());
        Assert.Equal("""["ValidationException",400]""", json["neither"]!.ToJsonString());
        Assert.Equal("""["ValidationException",400]""", json["both"]!.ToJsonString());
    }

    [Fact]
    public async Task Aliases_CreateListDelete_WithBoto3()
    {
        var alias = "alias/" + Names.New("al");
        var json = await KmsAsync(shared.Endpoint, $$"""
            key = kms.create_key()['KeyMetadata']
            other = kms.create_key()['KeyMetadata']
            kms.create_alias(AliasName='{{alias}}', TargetKeyId=key['Arn'])
            kms.create_alias(AliasName='{{alias}}-2', TargetKeyId=key['KeyId'])
            out = {'for_key': sorted(a['AliasName'] for a in kms.list_aliases(KeyId=key['KeyId'])['Aliases']),
                   'for_other': kms.list_aliases(KeyId=other['KeyId'])['Aliases']}
            entry = [a for a in kms.list_aliases(Limit=100)['Aliases'] if a['AliasName'] == '{{alias}}']
            out['entry'] = {'arn': entry[0]['AliasArn'], 'target': entry[0]['TargetKeyId'], 'dates': 'CreationDate' in entry[0] and 'LastUpdatedDate' in entry[0]} if entry else None
            out['duplicate'] = err(lambda: kms.create_alias(AliasName='{{alias}}', TargetKeyId=other['KeyId']))
            out['no_prefix'] = err(lambda: kms.create_alias(AliasName='{{alias}}'.replace('alias/', 'nope/'), TargetKeyId=key['KeyId']))
            out['reserved'] = err(lambda: kms.create_alias(AliasName='alias/aws/mine', TargetKeyId=key['KeyId']))
            out['missing_target'] = err(lambda: kms.create_alias(AliasName='{{alias}}-3', TargetKeyId='11111111-2222-3333-4444-555555555555'))
            kms.delete_alias(AliasName='{{alias}}')
            out['after_delete'] = err(lambda: kms.encrypt(KeyId='{{alias}}', Plaintext=b'x'))
            out['delete_again'] = err(lambda: kms.delete_alias(AliasName='{{alias}}'))
            kms.create_alias(AliasName='{{alias}}', TargetKeyId=other['KeyId'])
            out['recreated_to'] = kms.encrypt(KeyId='{{alias}}', Plaintext=b'x')['KeyId'] == other['Arn']
            out['key_id'] = key['KeyId']
            print(json.dumps(out))
            """);
        Assert.Equal($"""["{alias}","{alias}-2"]""", json["for_key"]!.ToJsonString());
        Assert.Empty(json["for_other"]!.AsArray());
        Assert.Equal($"arn:aws:kms:us-east-1:000000000000:{alias}", json["entry"]!["arn"]!.GetValue<string>());
        Assert.Equal(json["key_id"]!.GetValue<string>(), json["entry"]!["target"]!.GetValue<string>());
        Assert.True(json["entry"]!["dates"]!.GetValue<bool>());
        Assert.Equal("""["AlreadyExistsException",400]""", json["duplicate"]!.ToJsonString());
        Assert.Equal("""["InvalidAliasNameException",400]""", json["no_prefix"]!.ToJsonString());
        Assert.Equal("""["NotAuthorizedException",400]""", json["reserved"]!.ToJsonString());
        Assert.Equal("""["NotFoundException",400]""", json["missing_target"]!.ToJsonString());
        Assert.Equal("""["NotFoundException",400]""", json["after_delete"]!.ToJsonString());
        Assert.Equal("""["NotFoundException",400]""", json["delete_again"]!.ToJsonString());
        Assert.True(json["recreated_to"]!.GetValue<bool>());
    }

    /// <summary>A private server: alias/aws/lambda must not exist before this test names it.</summary>
    [Fact]
    public async Task LambdaManagedKey_AppearsOnFirstUse_AsAnAwsManagedKey()
    {
        await using var server = await ServerProcess.StartAsync();
        var before = (await CliOkAsync(server.Endpoint, "list-aliases"))["Aliases"]!.AsArray();
        Assert.DoesNotContain(before, a => a!["AliasName"]!.GetValue<string>() == "alias/aws/lambda");
        Assert.Empty((await CliOkAsync(server.Endpoint, "list-keys"))["Keys"]!.AsArray());

        var json = await KmsAsync(server.Endpoint, """
            dk = kms.generate_data_key(KeyId='alias/aws/lambda', KeySpec='AES_256')
            meta = kms.describe_key(KeyId='alias/aws/lambda')['KeyMetadata']
            same = kms.describe_key(KeyId='arn:aws:kms:us-east-1:000000000000:alias/aws/lambda')['KeyMetadata']['KeyId'] == meta['KeyId']
            aliases = [a for a in kms.list_aliases()['Aliases'] if a['AliasName'] == 'alias/aws/lambda']
            print(json.dumps({'meta': {k: meta[k] for k in ['KeyId', 'Arn', 'KeyManager', 'Description', 'KeyState']}, 'dk_key': dk['KeyId'], 'same': same,
                              'aliases': [[a['AliasArn'], a.get('TargetKeyId')] for a in aliases],
                              'keys': [k['KeyId'] for k in kms.list_keys()['Keys']],
                              'disable': err(lambda: kms.disable_key(KeyId=meta['KeyId'])),
                              'delete_alias': err(lambda: kms.delete_alias(AliasName='alias/aws/lambda')),
                              'other_aws_alias': err(lambda: kms.describe_key(KeyId='alias/aws/not-a-service'))}))
            """);
        var meta = json["meta"]!;
        var id = meta["KeyId"]!.GetValue<string>();
        Assert.Equal("AWS", meta["KeyManager"]!.GetValue<string>());
        Assert.Equal(LambdaKeyDescription, meta["Description"]!.GetValue<string>());
        Assert.Equal("Enabled", meta["KeyState"]!.GetValue<string>());
        Assert.Equal(meta["Arn"]!.GetValue<string>(), json["dk_key"]!.GetValue<string>());
        Assert.True(json["same"]!.GetValue<bool>());
        Assert.Equal($"""[["arn:aws:kms:us-east-1:000000000000:alias/aws/lambda","{id}"]]""", json["aliases"]!.ToJsonString());
        Assert.Equal($"""["{id}"]""", json["keys"]!.ToJsonString());
        Assert.Equal("""["AccessDeniedException",400]""", json["disable"]!.ToJsonString());
        Assert.Equal("""["NotAuthorizedException",400]""", json["delete_alias"]!.ToJsonString());
        Assert.Equal("""["NotFoundException",400]""", json["other_aws_alias"]!.ToJsonString());
    }

    [Fact]
    public async Task BadRequests_AnswerInTheJsonProtocolErrorShape()
    {
        async Task<(int Status, string? Type, string? Header, string? ContentType, JsonNode? Body)> PostAsync(string? target, string body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/") { Content = new StringContent(body, Encoding.UTF8) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
            if (target is not null)
            {
                request.Headers.Add("X-Amz-Target", target);
            }

            using var response = await shared.Http.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            var json = JsonNode.Parse(text);
            var header = response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.Single() : null;
            return ((int)response.StatusCode, json?["__type"]?.GetValue<string>(), header, response.Content.Headers.ContentType?.MediaType, json);
        }

        var malformed = await PostAsync("TrentService.ListKeys", "{\"Limit\": ");
        Assert.Equal((400, "SerializationException", "SerializationException", "application/x-amz-json-1.1"), (malformed.Status, malformed.Type, malformed.Header, malformed.ContentType));
        Assert.False(string.IsNullOrEmpty(malformed.Body!["message"]?.GetValue<string>()));

        var wrongType = await PostAsync("TrentService.ListKeys", """{"Limit": "ten"}""");
        Assert.Equal((400, "SerializationException"), (wrongType.Status, wrongType.Type));

        var badBase64 = await PostAsync("TrentService.Decrypt", """{"CiphertextBlob": "!!not base64!!"}""");
        Assert.Equal((400, "SerializationException"), (badBase64.Status, badBase64.Type));

        var unknownOperation = await PostAsync("TrentService.MakeCoffee", "{}");
        Assert.Equal((400, "UnknownOperationException", "UnknownOperationException"), (unknownOperation.Status, unknownOperation.Type, unknownOperation.Header));

        var unknownService = await PostAsync("NoSuchService_20200101.DoIt", "{}");
        Assert.Equal((400, "UnknownOperationException"), (unknownService.Status, unknownService.Type));

        var missingKeyId = await PostAsync("TrentService.Encrypt", """{"Plaintext": "aGk="}""");
        Assert.Equal((400, "ValidationException"), (missingKeyId.Status, missingKeyId.Type));

        var invalidKeyId = await PostAsync("TrentService.DescribeKey", """{"KeyId": "nonsense"}""");
        Assert.Equal((400, "NotFoundException"), (invalidKeyId.Status, invalidKeyId.Type));
        Assert.Equal("Invalid keyId nonsense", invalidKeyId.Body!["message"]!.GetValue<string>());

        var empty = await PostAsync("TrentService.ListKeys", "");
        Assert.Equal(200, empty.Status);
        Assert.NotNull(empty.Body!["Keys"]);

        // No X-Amz-Target: not a JSON-protocol call, so the Lambda API's unknown-operation answer.
        var lambda = await PostAsync(null, "{}");
        Assert.Equal((404, "UnknownOperationException"), (lambda.Status, lambda.Header));
        Assert.Null(lambda.Type);
        Assert.Equal("User", lambda.Body!["Type"]!.GetValue<string>());
    }

    /// <summary>DATA/master.key is created 0600; the key material is stored only sealed under it; keys survive a restart.</summary>
    [Fact]
    public async Task DefaultMasterKey_IsOwnerOnly_SealsKeyMaterial_AndKeysSurviveRestart()
    {
        var data = Paths.NewTempDirectory("hayate-kms");
        JsonNode json;
        await using (var server = await ServerProcess.StartAsync(data))
        {
            var masterKeyFile = Path.Combine(data, "master.key");
            Assert.True(File.Exists(masterKeyFile), "DATA/master.key was not created");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(masterKeyFile));

            json = await KmsAsync(server.Endpoint, """
                key = kms.create_key(Description='survivor')['KeyMetadata']
                kms.create_alias(AliasName='alias/survivor', TargetKeyId=key['KeyId'])
                dk = kms.generate_data_key(KeyId='alias/survivor', KeySpec='AES_256')
                enc = kms.encrypt(KeyId=key['KeyId'], Plaintext=b'kept across restarts', EncryptionContext={'k': 'v'})
                print(json.dumps({'key': key['KeyId'], 'dk_plain': b64(dk['Plaintext']), 'dk_blob': b64(dk['CiphertextBlob']), 'blob': b64(enc['CiphertextBlob'])}))
                """);
            var keyId = json["key"]!.GetValue<string>();

            // What is stored for the key is sealed: the master key opens it, and the material it holds
            // opens the service's ciphertext; neither that material nor the data key is in the files.
            var masterKey = ReadMasterKey(masterKeyFile);
            var material = Open(await ReadSealedMaterialAsync(data, keyId), masterKey);
            Assert.NotNull(material);
            var dataKeyBlob = Convert.FromBase64String(json["dk_blob"]!.GetValue<string>());
            Assert.Equal(Convert.FromBase64String(json["dk_plain"]!.GetValue<string>()), Open(dataKeyBlob, material!));
            foreach (var file in Directory.GetFiles(data, "hayate.db*"))
            {
                var bytes = await File.ReadAllBytesAsync(file);
                Assert.True(bytes.AsSpan().IndexOf(material) < 0, $"plaintext key material found in {file}");
                Assert.True(bytes.AsSpan().IndexOf(Convert.FromBase64String(json["dk_plain"]!.GetValue<string>())) < 0, $"plaintext data key found in {file}");
            }
        }

        await using (var again = await ServerProcess.StartAsync(data))
        {
            var after = await KmsAsync(again.Endpoint, $$"""
                dk = kms.decrypt(CiphertextBlob=base64.b64decode('{{json["dk_blob"]}}'))
                enc = kms.decrypt(CiphertextBlob=base64.b64decode('{{json["blob"]}}'), EncryptionContext={'k': 'v'})
                meta = kms.describe_key(KeyId='alias/survivor')['KeyMetadata']
                print(json.dumps({'dk_plain': b64(dk['Plaintext']), 'text': enc['Plaintext'].decode(), 'key': meta['KeyId'], 'description': meta['Description']}))
                """);
            Assert.Equal(json["dk_plain"]!.GetValue<string>(), after["dk_plain"]!.GetValue<string>());
            Assert.Equal("kept across restarts", after["text"]!.GetValue<string>());
            Assert.Equal(json["key"]!.GetValue<string>(), after["key"]!.GetValue<string>());
            Assert.Equal("survivor", after["description"]!.GetValue<string>());
        }
    }

    /// <summary>--master-key-file is the key that seals the material; another key refuses to start on the same data.</summary>
    [Fact]
    public async Task MasterKeyFileOption_SealsWithThatKey_AndAnotherKeyRefusesToStart()
    {
        var data = Paths.NewTempDirectory("hayate-kms");
        var secrets = Paths.NewTempDirectory("hayate-secrets");
        var ours = RandomNumberGenerator.GetBytes(32);
        var keyFile = Path.Combine(secrets, "ours.key");
        await File.WriteAllTextAsync(keyFile, Convert.ToBase64String(ours) + "\n");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        await using (var server = await ServerProcess.StartAsync(data, "--master-key-file", keyFile))
        {
            var json = await KmsAsync(server.Endpoint, "print(json.dumps({'key': kms.create_key()['KeyMetadata']['KeyId']}))");
            Assert.NotNull(Open(await ReadSealedMaterialAsync(data, json["key"]!.GetValue<string>()), ours));
            Assert.False(File.Exists(Path.Combine(data, "master.key")), "a master.key was created although --master-key-file was given");
        }

        var otherFile = Path.Combine(secrets, "other.key");
        await File.WriteAllBytesAsync(otherFile, RandomNumberGenerator.GetBytes(32));
        var refused = await Clients.HayateAsync("serve", "--port", "0", "--data", data, "--master-key-file", otherFile);
        Assert.Equal(4, refused.ExitCode);
        Assert.Contains("master key", refused.Stderr, StringComparison.Ordinal);

        var missing = await Clients.HayateAsync("serve", "--port", "0", "--data", data, "--master-key-file", Path.Combine(secrets, "absent.key"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--master-key-file", missing.Stderr, StringComparison.Ordinal);
    }

    private static byte[] ReadMasterKey(string path)
    {
        var text = File.ReadAllText(path).Trim();
        var key = Convert.FromBase64String(text);
        Assert.Equal(32, key.Length);
        return key;
    }

    private static async Task<byte[]> ReadSealedMaterialAsync(string data, string keyId)
    {
        var result = await Clients.RunAsync("python3", ["-c", $"""
            import sqlite3
            db = sqlite3.connect('file:{Path.Combine(data, "hayate.db")}?mode=ro', uri=True)
            print(db.execute("SELECT hex(material) FROM kms_keys WHERE key_id = ?", ('{keyId}',)).fetchone()[0])
            """]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return Convert.FromHexString(result.Stdout.Trim());
    }

    /// <summary>Opens a blob in Hayate's documented format (version, key id, nonce, tag, ciphertext; AAD = version and key id) without an encryption context.</summary>
    private static byte[]? Open(byte[] blob, byte[] key)
    {
        if (blob.Length < 45)
        {
            return null;
        }

        var plaintext = new byte[blob.Length - 45];
        using var aes = new AesGcm(key, 16);
        try
        {
            aes.Decrypt(blob.AsSpan(17, 12), blob.AsSpan(45), blob.AsSpan(29, 16), plaintext, blob.AsSpan(0, 17));
            return plaintext;
        }
        catch (AuthenticationTagMismatchException)
        {
            return null;
        }
    }
}
