"""The storage adapters from settings, built the same way for the API and the background worker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gateway.blobs.s3 import S3BlobStore
from gateway.settings import Settings
from gateway.store.conversations import DynamoConversationStore
from gateway.store.dynamodb import DynamoResponseStore
from gateway.store.events import DynamoEventLog

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@dataclass(frozen=True)
class Storage:
    dynamodb: DynamoDBClient
    responses: DynamoResponseStore
    events: DynamoEventLog
    conversations: DynamoConversationStore


def build_storage(settings: Settings) -> Storage:
    """One DynamoDB client (and the payload bucket, when configured) shared by every adapter.

    boto3 is imported here, not at module import, to keep cold start lean.
    """
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=settings.aws_region)
    blobs = None
    if settings.payload_bucket:
        blobs = S3BlobStore(settings.payload_bucket, boto3.client("s3", region_name=settings.aws_region))
    return Storage(
        dynamodb=dynamodb,
        responses=DynamoResponseStore(settings.table_name, dynamodb, blobs),
        events=DynamoEventLog(settings.table_name, dynamodb, blobs),
        conversations=DynamoConversationStore(settings.table_name, dynamodb, blobs),
    )
