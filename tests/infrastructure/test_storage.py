"""The table, the payload bucket, the jobs queue and the provider-keys secret."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from gateway.store.schema import create_table
from gateway_infra.config import MAX_RECEIVES
from tests.infrastructure.template import Synthesized, references

pytestmark = pytest.mark.infra

TABLE = "AWS::DynamoDB::GlobalTable"
DENY_INSECURE_TRANSPORT = Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})


def test_table_is_on_demand_with_ttl_point_in_time_recovery_and_encryption(stage: Synthesized) -> None:
    stage.template.has_resource_properties(
        TABLE,
        {
            "BillingMode": "PAY_PER_REQUEST",
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
            "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
            "Replicas": [Match.object_like({"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}})],
            "GlobalSecondaryIndexes": Match.absent(),
        },
    )


def test_table_has_the_schema_the_app_creates_locally(dev: Synthesized) -> None:
    # GIVEN the table the app builds for moto (make run, tests)
    class Recorder:
        def list_tables(self) -> dict[str, list[str]]:
            return {"TableNames": []}

        def create_table(self, **kwargs: Any) -> None:
            self.created = kwargs

        def update_time_to_live(self, **kwargs: Any) -> None:
            self.ttl = kwargs["TimeToLiveSpecification"]

    local = Recorder()
    create_table(local, "t")  # type: ignore[arg-type]

    # THEN CDK declares the same keys, attribute types and TTL
    [table] = dev.resources(TABLE).values()
    deployed = table["Properties"]
    assert deployed["KeySchema"] == local.created["KeySchema"]
    assert deployed["AttributeDefinitions"] == local.created["AttributeDefinitions"]
    assert deployed["TimeToLiveSpecification"] == local.ttl


def test_prod_keeps_its_data_and_dev_cleans_up(prod: Synthesized, dev: Synthesized) -> None:
    kept = ("AWS::DynamoDB::GlobalTable", "AWS::S3::Bucket", "AWS::SecretsManager::Secret", "AWS::Logs::LogGroup")
    for resource_type in kept:
        assert {r["DeletionPolicy"] for r in prod.resources(resource_type).values()} == {"Retain"}, resource_type
        assert {r["DeletionPolicy"] for r in dev.resources(resource_type).values()} == {"Delete"}, resource_type
    prod.template.has_resource_properties(TABLE, {"Replicas": [Match.object_like({"DeletionProtectionEnabled": True})]})
    # dev empties the bucket on destroy; prod never deletes objects through CloudFormation
    assert dev.resources("Custom::S3AutoDeleteObjects")
    assert not prod.resources("Custom::S3AutoDeleteObjects")


def test_payload_bucket_is_private_encrypted_tls_only_and_expires_with_the_responses(stage: Synthesized) -> None:
    stage.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Status": "Enabled",
                        # a day of grace: S3 rounds expiry up to midnight, never down
                        "ExpirationInDays": stage.config.ttl_days + 1,
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    }
                ]
            },
        },
    )
    stage.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {"PolicyDocument": {"Statement": Match.array_with([DENY_INSECURE_TRANSPORT])}},
    )


def test_jobs_queue_is_encrypted_tls_only_and_redrives_to_a_dead_letter_queue(stage: Synthesized) -> None:
    # the FIFO queues are WebSocket mode's turns (test_websocket_api.py)
    queues = {k: q for k, q in stage.resources("AWS::SQS::Queue").items() if not q["Properties"].get("FifoQueue")}
    [jobs_id] = [logical_id for logical_id, queue in queues.items() if "RedrivePolicy" in queue["Properties"]]
    [dead_letters_id] = set(queues) - {jobs_id}
    jobs = queues[jobs_id]["Properties"]

    assert jobs["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dead_letters_id, "Arn"]},
        "maxReceiveCount": MAX_RECEIVES,
    }
    # failed runs are counted in DynamoDB; deliveries also go on waiting (tenant slots, Retry-After, live runs)
    assert MAX_RECEIVES >= 50
    # Lambda's SQS guidance: visibility at least 6x the consumer's timeout, or slow jobs are delivered twice
    assert jobs["VisibilityTimeout"] >= 6 * stage.config.worker.timeout_seconds
    assert queues[dead_letters_id]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    for queue in queues.values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    policies = stage.resources("AWS::SQS::QueuePolicy").values()
    protected = set().union(*(references(policy["Properties"]["Queues"]) for policy in policies))
    assert set(queues) <= protected
    stage.template.all_resources_properties(
        "AWS::SQS::QueuePolicy", {"PolicyDocument": {"Statement": Match.array_with([DENY_INSECURE_TRANSPORT])}}
    )


def test_provider_secret_holds_no_key_in_the_template(stage: Synthesized) -> None:
    # Operators put the real keys with put-secret-value; CloudFormation only ever sees an empty object.
    stage.template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {"SecretString": "{}", "GenerateSecretString": Match.absent(), "Name": Match.absent()},
    )
