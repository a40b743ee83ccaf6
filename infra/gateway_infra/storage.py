"""Where state lives: the DynamoDB table and the S3 bucket for item bodies too large for a 400 KB item."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from gateway_infra.config import StageConfig
from gateway_infra.nag import acknowledge

# The app's schema (gateway.store.schema.create_table builds the same table for moto; a test compares them).
PARTITION_KEY = "pk"
SORT_KEY = "sk"
TTL_ATTRIBUTE = "expires_at"

# S3 expires objects at the first midnight (UTC) after their age is reached and a blob is written just before
# the item pointing at it, so one extra day guarantees a blob never disappears while its item is still readable.
_LIFECYCLE_GRACE_DAYS = 1


class Storage(Construct):
    """One on-demand table (responses, items, events, keys, usage) and the payload bucket beside it."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY

        self.table = dynamodb.TableV2(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing=dynamodb.Billing.on_demand(),
            time_to_live_attribute=TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # An AWS managed KMS key rather than the default AWS owned one: visible in the template and in
            # CloudTrail, and still free of key management.
            encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
            deletion_protection=config.retain_data,
            removal_policy=removal,
        )

        self.bucket = s3.Bucket(
            self,
            "Payloads",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(config.ttl_days + _LIFECYCLE_GRACE_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=removal,
            # Lets `make destroy` remove a dev stack that still holds payloads; prod keeps the bucket anyway.
            auto_delete_objects=not config.retain_data,
        )
        acknowledge(
            self.bucket,
            {
                "AwsSolutions-S1": "Only the gateway's own functions read or write this private bucket, and "
                "every request that leads to an object is already in the API Gateway access log and the "
                "function logs; server access logs would add a second log object per payload for no new "
                "information.",
            },
        )
