"""``DynamoEventLog``: the stream events of background responses, in the responses table.

    pk = "t#<tenant>#ev#<response id>"   sk = "<attempt:04d>#<sequence:08d>"   data = the event's JSON

Each background attempt writes a complete sequence from 0 under its own prefix, and the response record names
the live attempt. A worker that died (or lost its lease but is still writing) only ever touches its own keys,
so readers following the live attempt never see two runs interleaved. An event too large for an item (a
terminal event carries the whole response) keeps its JSON in S3, like a large response.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gateway.domain.ports import StoredEvent
from gateway.schemas.events import StreamEvent
from gateway.store.records import INLINE_LIMIT, Item, events_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from gateway.blobs.base import BlobStore

_BATCH = 25
"""BatchWriteItem's limit per call."""
_LAST_SEQUENCE = 99_999_999


def event_sk(attempt: int, sequence: int) -> str:
    return f"{attempt:04d}#{sequence:08d}"


def event_items(
    tenant: str,
    response_id: str,
    attempt: int,
    events: Sequence[StreamEvent],
    expires_at: int,
    blobs: BlobStore | None,
) -> list[Item]:
    """The items for ``events``; oversized bodies go to S3 first (they are never truncated)."""
    items: list[Item] = []
    for event in events:
        data = event.model_dump_json()
        item: Item = {
            "pk": {"S": events_pk(tenant, response_id)},
            "sk": {"S": event_sk(attempt, event.sequence_number)},
            "expires_at": {"N": str(expires_at)},
        }
        if len(data.encode()) > INLINE_LIMIT and blobs is not None:
            key = f"events/{tenant}/{response_id}/{attempt}/{event.sequence_number}.json"
            blobs.put(key, data.encode())
            item["blob"] = {"S": key}
        else:
            item["data"] = {"S": data}
        items.append(item)
    return items


class DynamoEventLog:
    """Appends with BatchWriteItem (retrying unprocessed items); reads are strongly consistent Queries."""

    def __init__(self, table: str, client: DynamoDBClient, blobs: BlobStore | None = None) -> None:
        self._table = table
        self._client = client
        self._blobs = blobs

    def append(
        self, tenant: str, response_id: str, attempt: int, events: Sequence[StreamEvent], expires_at: int
    ) -> None:
        items = event_items(tenant, response_id, attempt, events, expires_at, self._blobs)
        for start in range(0, len(items), _BATCH):
            requests: list[Any] = [{"PutRequest": {"Item": item}} for item in items[start : start + _BATCH]]
            _batch_write(self._client, self._table, requests)

    def read(self, tenant: str, response_id: str, attempt: int, after: int) -> list[StreamEvent]:
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={
                ":pk": {"S": events_pk(tenant, response_id)},
                ":first": {"S": event_sk(attempt, after + 1)},
                ":last": {"S": event_sk(attempt, _LAST_SEQUENCE)},
            },
            ConsistentRead=True,
        )
        return [self._event(item) for page in pages for item in page["Items"]]

    def last_sequence(self, tenant: str, response_id: str, attempt: int) -> int:
        page = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :attempt)",
            ExpressionAttributeValues={
                ":pk": {"S": events_pk(tenant, response_id)},
                ":attempt": {"S": f"{attempt:04d}#"},
            },
            ProjectionExpression="sk",
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
        )
        items = page.get("Items", [])
        return int(items[0]["sk"]["S"].split("#")[1]) if items else -1

    def _event(self, item: Item) -> StreamEvent:
        if "blob" in item and self._blobs is not None:
            return StoredEvent.model_validate_json(self._blobs.get(item["blob"]["S"]))
        return StoredEvent.model_validate_json(item["data"]["S"])


def _batch_write(client: DynamoDBClient, table: str, requests: list[Any]) -> None:
    """One BatchWriteItem, retrying what DynamoDB left unprocessed (it may, under throttling)."""
    for attempt in range(8):
        reply = client.batch_write_item(RequestItems={table: requests})
        requests = list(reply.get("UnprocessedItems", {}).get(table, []))
        if not requests:
            return
        time.sleep(0.02 * 2**attempt)  # on a worker thread (``io``), never the event loop
    raise RuntimeError("DynamoDB left items unprocessed after 8 tries")


def purge_events(client: DynamoDBClient, table: str, tenant: str, response_id: str) -> list[str]:
    """Delete every event of a response (all attempts); returns the S3 keys of offloaded bodies."""
    blobs: list[str] = []
    pages = client.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": events_pk(tenant, response_id)}},
        ProjectionExpression="pk, sk, #blob",
        ExpressionAttributeNames={"#blob": "blob"},
    )
    for page in pages:
        items = page["Items"]
        blobs.extend(item["blob"]["S"] for item in items if "blob" in item)
        for start in range(0, len(items), _BATCH):
            requests: list[Any] = [
                {"DeleteRequest": {"Key": {"pk": item["pk"], "sk": item["sk"]}}}
                for item in items[start : start + _BATCH]
            ]
            _batch_write(client, table, requests)
    return blobs
