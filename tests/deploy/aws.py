"""The stack's AWS resources, made in moto from the template's own properties, as CloudFormation would make them.

The table takes the template's keys, attributes, billing and TTL; the queues their visibility timeout; the
secrets their ``SecretString`` or a value generated per ``GenerateSecretString``; then the operator's deploy steps
(README, "Deploy to AWS"): the provider secret gets the upstream's key and URL, and ``keys create`` makes API keys.
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import dataclass
from typing import Any

import boto3

from gateway.store.keys import DynamoKeyStore
from tests.deploy.template import REGION, Deployment, Json


@dataclass(frozen=True)
class Provisioned:
    stand_ins: dict[str, str]
    """Logical id -> what ``Ref`` returns for it (table name, queue URL, bucket name, secret ARN)."""
    attributes: dict[tuple[str, str], str]
    """(logical id, attribute) -> what ``Fn::GetAtt`` returns (queue ARNs)."""


def client(service: str, endpoint: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _generated(spec: Json) -> str:
    alphabet = string.ascii_letters + string.digits + ("" if spec.get("ExcludePunctuation") else string.punctuation)
    value = "".join(secrets.choice(alphabet) for _ in range(int(spec.get("PasswordLength", 32))))
    template = json.loads(spec.get("SecretStringTemplate", "{}"))
    return json.dumps({**template, spec["GenerateStringKey"]: value}) if "GenerateStringKey" in spec else value


def provision(deployment: Deployment, endpoint: str, prefix: str) -> Provisioned:
    stand_ins: dict[str, str] = {}
    attributes: dict[tuple[str, str], str] = {}
    dynamodb, sqs = client("dynamodb", endpoint), client("sqs", endpoint)
    for logical_id, resource in deployment.of_type("AWS::DynamoDB::GlobalTable").items():
        p, name = resource["Properties"], f"{prefix}-{logical_id}"
        create: Json = {
            "TableName": name,
            "KeySchema": p["KeySchema"],
            "AttributeDefinitions": p["AttributeDefinitions"],
        }
        create["BillingMode"] = p.get("BillingMode", "PROVISIONED")
        if p.get("GlobalSecondaryIndexes"):
            create["GlobalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                for index in p["GlobalSecondaryIndexes"]
            ]
        dynamodb.create_table(**create)
        if "TimeToLiveSpecification" in p:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=p["TimeToLiveSpecification"])
        stand_ins[logical_id] = name
    for logical_id, resource in deployment.of_type("AWS::SQS::Queue").items():
        p = resource["Properties"]
        queue_attributes = {"VisibilityTimeout": str(p.get("VisibilityTimeout", 30))}
        name = f"{prefix}-{logical_id}"
        if p.get("FifoQueue"):  # WebSocket mode's turns: CloudFormation names a FIFO queue <name>.fifo
            name += ".fifo"
            queue_attributes["FifoQueue"] = "true"
            queue_attributes |= {k: str(p[k]) for k in ("DeduplicationScope", "FifoThroughputLimit") if k in p}
        url = sqs.create_queue(QueueName=name, Attributes=queue_attributes)["QueueUrl"]
        stand_ins[logical_id] = url
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes[(logical_id, "Arn")] = arn
    s3 = client("s3", endpoint)
    for logical_id in deployment.of_type("AWS::S3::Bucket"):
        name = f"{prefix}-{logical_id}".lower()
        s3.create_bucket(Bucket=name)
        stand_ins[logical_id] = name
    manager = client("secretsmanager", endpoint)
    for logical_id, resource in deployment.of_type("AWS::SecretsManager::Secret").items():
        p = resource["Properties"]
        value = p["SecretString"] if "SecretString" in p else _generated(p.get("GenerateSecretString", {}))
        stand_ins[logical_id] = manager.create_secret(Name=f"{prefix}-{logical_id}", SecretString=value)["ARN"]
    return Provisioned(stand_ins, attributes)


def put_secret(endpoint: str, secret_id: str, value: Json) -> None:
    """Deploy step 4: the operator puts the upstream's credentials into the provider secret."""
    client("secretsmanager", endpoint).put_secret_value(SecretId=secret_id, SecretString=json.dumps(value))


def create_key(endpoint: str, table: str, tenant: str, *, admin: bool = False) -> str:
    """Deploy step 5, ``make keys ARGS="create --tenant ..."``: the key, shown once; only its hash is stored."""
    key, _ = DynamoKeyStore(table, client("dynamodb", endpoint)).create(tenant, admin=admin)
    return key
