"""``DynamoResponseStore``: the ``ResponseStore`` port on one DynamoDB table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from gateway.domain.ids import now, thread_of
from gateway.domain.ports import StoredResponse
from gateway.domain.status import IN_FLIGHT
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.schemas.tool_items import ContextItem
from gateway.store.events import purge_events
from gateway.store.records import (
    INLINE_LIMIT,
    Item,
    blob_key,
    blob_prefix,
    from_item,
    join_payload,
    payload_size,
    response_sk,
    split_payload,
    thread_pk,
    to_item,
)
from gateway.store.transitions import ConditionalWrites

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from gateway.blobs.base import BlobStore


class DynamoResponseStore(ConditionalWrites):
    """Strongly consistent reads, conditional writes, TTL filtered on read (DynamoDB deletes lazily)."""

    def __init__(self, table: str, client: DynamoDBClient, blobs: BlobStore | None = None) -> None:
        self._table = table
        self._client = client
        self._blobs = blobs

    def put(self, record: StoredResponse) -> None:
        self._client.put_item(
            TableName=self._table,
            Item=self._offload(to_item(record), blob_key(record)),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def _offload(self, item: Item, key: str) -> Item:
        """Move a payload too large for DynamoDB to S3, leaving a pointer: never truncate."""
        if payload_size(item) <= INLINE_LIMIT:
            return item
        if self._blobs is None:
            raise InvalidRequestError(
                "This response is too large to store without a payload bucket (RESPONSES_PAYLOAD_BUCKET).",
                code="payload_too_large",
            )
        inline, payload = split_payload(item)
        self._blobs.put(key, payload)
        return {**inline, "blob": {"S": key}}

    def _hydrate(self, item: Item) -> Item:
        if "blob" not in item or self._blobs is None:
            return item
        return join_payload(item, self._blobs.get(item["blob"]["S"]))

    def get(self, tenant: str, response_id: str) -> StoredResponse | None:
        thread = thread_of(response_id)
        if thread is None or not response_id.startswith("resp_"):
            return None
        reply = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": thread_pk(tenant, thread)}, "sk": {"S": response_sk(response_id)}},
            ConsistentRead=True,
        )
        item = reply.get("Item")
        return from_item(self._hydrate(item), tenant) if item and _alive(item) else None

    def chain(self, tenant: str, response_id: str) -> list[StoredResponse]:
        thread = thread_of(response_id)
        if thread is None or not response_id.startswith("resp_"):
            return []
        by_id = {record.id: record for record in self._thread(tenant, thread)}
        lineage: list[StoredResponse] = []
        cursor: str | None = response_id
        # A deleted or expired ancestor ends the walk: the conversation continues from what remains.
        while cursor is not None and (record := by_id.get(cursor)) is not None:
            lineage.append(record)
            cursor = record.parent
        lineage.reverse()
        return lineage

    def find_items(self, tenant: str, item_ids: Sequence[str]) -> dict[str, ContextItem]:
        wanted: dict[str, set[str]] = defaultdict(set)
        for item_id in item_ids:
            thread = thread_of(item_id)
            if thread is not None:
                wanted[thread].add(item_id)
        found: dict[str, ContextItem] = {}
        for thread, ids in wanted.items():
            for record in self._thread(tenant, thread):
                for item in record.context_items():
                    if item.id in ids:
                        found[item.id] = item
        return found

    def delete(self, tenant: str, response_id: str) -> None:
        thread = thread_of(response_id)
        if thread is None:
            raise _not_found(response_id)
        exists = "attribute_exists(pk) AND expires_at > :now"
        settled = "NOT (#status IN (:queued, :in_progress))"
        try:
            reply = self._client.delete_item(
                TableName=self._table,
                Key={"pk": {"S": thread_pk(tenant, thread)}, "sk": {"S": response_sk(response_id)}},
                ConditionExpression=f"{exists} AND {settled}",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":now": {"N": str(now())},
                    ":queued": {"S": "queued"},
                    ":in_progress": {"S": "in_progress"},
                },
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old = self.get(tenant, response_id)
            if old is not None and old.status in IN_FLIGHT:
                raise InvalidRequestError("Cannot delete an in-flight response.") from exc
            raise _not_found(response_id) from exc
        gone = reply.get("Attributes", {})
        background = gone.get("background", {}).get("BOOL", False)
        blobs = [gone["blob"]["S"]] if "blob" in gone and not background else []
        if background and gone.get("stream", {}).get("BOOL", False):
            blobs += purge_events(self._client, self._table, tenant, response_id)
        if self._blobs is None:
            return
        for key in blobs:
            self._blobs.delete(key)
        if background:  # every rewrite of a background record stored its payload under its own key
            self._blobs.delete_prefix(blob_prefix(tenant, thread, response_id))

    def _thread(self, tenant: str, thread: str) -> list[StoredResponse]:
        """Every live response of a thread: one Query, paginated only past 1 MB."""
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": thread_pk(tenant, thread)}},
            ConsistentRead=True,
        )
        return [from_item(self._hydrate(item), tenant) for page in pages for item in page["Items"] if _alive(item)]


def _alive(item: Item) -> bool:
    return int(item["expires_at"]["N"]) > now()


def _not_found(response_id: str) -> NotFoundError:
    return NotFoundError(f"Response with id '{response_id}' not found.")
