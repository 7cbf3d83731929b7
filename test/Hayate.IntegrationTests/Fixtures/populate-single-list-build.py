# Fills a data directory through a running `hayate serve` of the last single-list build (commit
# 4aed547), for SingleListDataTests. Run by make-single-list-fixture.sh; needs boto3.
import base64, io, json, sys, zipfile
import boto3
from botocore.config import Config

endpoint = sys.argv[1]
cfg = Config(retries={'max_attempts': 0})
lam = boto3.client('lambda', endpoint_url=endpoint, config=cfg)
kms = boto3.client('kms', endpoint_url=endpoint, config=cfg)
sqs = boto3.client('sqs', endpoint_url=endpoint, config=cfg)
kin = boto3.client('kinesis', endpoint_url=endpoint, config=cfg)

def zipped(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, text)
    return buf.getvalue()

role = 'arn:aws:iam::000000000000:role/legacy'
key = kms.create_key(Description='legacy key')['KeyMetadata']
kms.create_alias(AliasName='alias/legacy', TargetKeyId=key['KeyId'])
secret = kms.encrypt(KeyId='alias/legacy', Plaintext=b'kept across builds')['CiphertextBlob']

layer = lam.publish_layer_version(LayerName='legacy-layer',
    Content={'ZipFile': zipped({'python/legacy_layer.py': "WORD = 'from the layer'\n"})},
    CompatibleRuntimes=['python3.12'])

handler = """import os
def handler(event, context):
    try:
        import legacy_layer
        word = legacy_layer.WORD
    except ImportError:
        word = None
    return {'code': CODE, 'secret': os.environ.get('SECRET'), 'layer': word}
"""
lam.create_function(FunctionName='legacy-fn', Runtime='python3.12', Handler='app.handler', Role=role,
    Code={'ZipFile': zipped({'app.py': 'CODE = 1\n' + handler})}, Layers=[layer['LayerVersionArn']],
    Environment={'Variables': {'SECRET': 'sealed at rest'}}, KMSKeyArn=key['Arn'], Tags={'team': 'legacy'})
lam.publish_version(FunctionName='legacy-fn')
lam.update_function_code(FunctionName='legacy-fn', ZipFile=zipped({'app.py': 'CODE = 2\n' + handler}))
lam.publish_version(FunctionName='legacy-fn')
lam.create_alias(FunctionName='legacy-fn', Name='live', FunctionVersion='1')
lam.add_permission(FunctionName='legacy-fn', StatementId='legacy-s3', Action='lambda:InvokeFunction', Principal='s3.amazonaws.com')

url = sqs.create_queue(QueueName='legacy-queue')['QueueUrl']
sqs.send_message(QueueUrl=url, MessageBody='first')
sqs.send_message(QueueUrl=url, MessageBody='second')
done = sqs.create_queue(QueueName='legacy-done')['QueueUrl']
done_arn = sqs.get_queue_attributes(QueueUrl=done, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
source = sqs.create_queue(QueueName='legacy-source', Attributes={'VisibilityTimeout': '30'})['QueueUrl']
source_arn = sqs.get_queue_attributes(QueueUrl=source, AttributeNames=['QueueArn'])['Attributes']['QueueArn']
lam.create_event_source_mapping(FunctionName='legacy-fn', EventSourceArn=source_arn, BatchSize=5, Enabled=False)

kin.create_stream(StreamName='legacy-stream', ShardCount=2)
for i in range(4):
    kin.put_record(StreamName='legacy-stream', Data=f'record {i}'.encode(), PartitionKey=f'key {i}')

# An event accepted and not yet run: the function may not run (reserved concurrency 0), so it waits in the journal.
lam.create_function(FunctionName='legacy-async', Runtime='python3.12', Handler='app.handler', Role=role,
    Code={'ZipFile': zipped({'app.py': 'def handler(event, context):\n    return {"ran": event["marker"]}\n'})})
lam.put_function_concurrency(FunctionName='legacy-async', ReservedConcurrentExecutions=0)
lam.put_function_event_invoke_config(FunctionName='legacy-async', MaximumRetryAttempts=0,
    DestinationConfig={'OnSuccess': {'Destination': done_arn}})
accepted = lam.invoke(FunctionName='legacy-async', InvocationType='Event', Payload=json.dumps({'marker': 'waited for the new build'}))
assert accepted['StatusCode'] == 202, accepted

print(json.dumps({'ciphertext': base64.b64encode(secret).decode(), 'keyId': key['KeyId'],
                  'asyncRequestId': accepted['ResponseMetadata']['RequestId']}))
