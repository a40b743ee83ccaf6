"""``DynamoConversationStore``: the ``ConversationStore`` port in the one DynamoDB table.

Storage design. A conversation is one partition, so its whole context is one Query whatever its length (the
Query pages only past 1 MB, through boto3's paginator):

    pk = "t#<tenant>#cv#<conversation id>"   sk = "i#<position:010d>"   one item per conversation item
                                             sk = "meta"                 created_at, metadata, next position

Positions are dense and only grow; "i#…" sorts before "meta", so the Query returns the items oldest first and the
meta item last. Every key starts with the tenant, so another tenant's id simply is not there (a 404).

Appends are ordered and atomic under concurrency: one ``TransactWriteItems`` moves the meta item's ``next``
from the value read to ``next + n`` (conditional on that value) and puts the n items at those positions. Two
racing appends cannot take the same positions (the loser re-reads and retries), and an append racing a delete
either commits before the meta item goes (the delete's Query, strongly consistent, then sees and deletes its
items) or fails its condition (nothing written, the deleted conversation stays deleted). A transaction holds at
most 100 writes and 4 MB, so a larger append is written in several such transactions, each atomic and in order.

Conversation items never expire (OpenAI keeps them; there is no ``expires_at``). An item too large to keep
inline (the responses' limit, ``store/records.py``) lives in S3 under a fresh key beneath
``conversations/<tenant>/<conversation id>/``; deleting the conversation deletes that prefix.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import TypeAdapter

from gateway.domain.ports import StoredConversation
from gateway.errors import InvalidRequestError
from gateway.schemas.tool_items import ContextItem, StoredItem
from gateway.store.records import INLINE_LIMIT, Item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from gateway.blobs.base import BlobStore

META = "meta"
_ITEM: TypeAdapter[ContextItem] = TypeAdapter(StoredItem)
_TRANSACTION_WRITES = 100
_TRANSACTION_BYTES = 3_500_000
"""Below DynamoDB's 4 MB per transaction, leaving room for keys and attribute names."""
_RETRIES = 20


def conversation_pk(tenant: str, conversation_id: str) -> str:
    return f"t#{tenant}#cv#{conversation_id}"


def item_sk(position: int) -> str:
    return f"i#{position:010d}"


def blob_prefix(tenant: str, conversation_id: str) -> str:
    return f"conversations/{tenant}/{conversation_id}/"


class DynamoConversationStore:
    def __init__(self, table: str, client: DynamoDBClient, blobs: BlobStore | None = None) -> None:
        self._table = table
        self._client = client
        self._blobs = blobs

    def create(self, record: StoredConversation, items: Sequence[ContextItem]) -> None:
        rows = [self._row(record.tenant, record.id, item) for item in items]  # refused before anything exists
        meta: Item = {
            **self._key(record.tenant, record.id, META),
            "created_at": {"N": str(record.created_at)},
            "metadata": {"S": json.dumps(record.metadata)},
            "next": {"N": "0"},
        }
        self._client.put_item(TableName=self._table, Item=meta, ConditionExpression="attribute_not_exists(pk)")
        if rows and not self._append_rows(record.tenant, record.id, rows):
            raise RuntimeError(f"conversation {record.id} vanished while being created")

    def get(self, tenant: str, conversation_id: str) -> StoredConversation | None:
        reply = self._client.get_item(
            TableName=self._table, Key=self._key(tenant, conversation_id, META), ConsistentRead=True
        )
        item = reply.get("Item")
        return _conversation(tenant, conversation_id, item) if item else None

    def load(self, tenant: str, conversation_id: str) -> tuple[StoredConversation, list[ContextItem]] | None:
        rows = list(self._query(tenant, conversation_id))
        if not rows or rows[-1]["sk"]["S"] != META:
            return None
        return _conversation(tenant, conversation_id, rows[-1]), [self._item(row) for row in rows[:-1]]

    def find(
        self, tenant: str, conversation_id: str, item_id: str
    ) -> tuple[StoredConversation, ContextItem | None] | None:
        row = None
        meta = None
        # Still one Query: the filter only trims what comes back.
        for found in self._query(tenant, conversation_id, item_id):
            if found["sk"]["S"] == META:
                meta = found
            else:
                row = found
        if meta is None:
            return None
        return _conversation(tenant, conversation_id, meta), self._item(row) if row is not None else None

    def update(self, tenant: str, conversation_id: str, metadata: dict[str, str]) -> StoredConversation | None:
        try:
            reply = self._client.update_item(
                TableName=self._table,
                Key=self._key(tenant, conversation_id, META),
                UpdateExpression="SET metadata = :metadata",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":metadata": {"S": json.dumps(metadata)}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        return _conversation(tenant, conversation_id, reply["Attributes"])

    def append(self, tenant: str, conversation_id: str, items: Sequence[ContextItem]) -> bool:
        return self._append_rows(tenant, conversation_id, [self._row(tenant, conversation_id, item) for item in items])

    def _append_rows(self, tenant: str, conversation_id: str, rows: list[Item]) -> bool:
        for chunk in _chunks(rows):
            if not self._append_chunk(tenant, conversation_id, chunk):
                self._drop_blobs(rows)
                return False
        return True

    def _append_chunk(self, tenant: str, conversation_id: str, rows: list[Item]) -> bool:
        key = self._key(tenant, conversation_id, META)
        for _ in range(_RETRIES):
            meta = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
            if meta is None:
                return False
            start = int(meta["next"]["N"])
            writes: list[Any] = [
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": key,
                        "UpdateExpression": "SET #next = :end",
                        "ConditionExpression": "#next = :start",
                        "ExpressionAttributeNames": {"#next": "next"},
                        "ExpressionAttributeValues": {
                            ":start": {"N": str(start)},
                            ":end": {"N": str(start + len(rows))},
                        },
                    }
                }
            ]
            writes += [
                {"Put": {"TableName": self._table, "Item": {**row, "sk": {"S": item_sk(start + offset)}}}}
                for offset, row in enumerate(rows)
            ]
            try:
                self._client.transact_write_items(TransactItems=writes)
                return True
            except ClientError as exc:
                # Another append moved ``next``, or the meta item is gone: read it again and decide.
                if exc.response["Error"]["Code"] not in (
                    "TransactionCanceledException",
                    "TransactionConflictException",
                ):
                    raise
        raise RuntimeError(f"conversation {conversation_id}: too many concurrent appends")

    def delete(self, tenant: str, conversation_id: str) -> bool:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self._key(tenant, conversation_id, META),
                ConditionExpression="attribute_exists(pk)",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        # The meta item is gone first, so no append can commit after this Query has run.
        keys = [{"pk": row["pk"], "sk": row["sk"]} for row in self._query(tenant, conversation_id)]
        for start in range(0, len(keys), 25):
            requests: Any = {self._table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]}
            while requests:
                requests = self._client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or None
        if self._blobs is not None:
            self._blobs.delete_prefix(blob_prefix(tenant, conversation_id))
        return True

    def delete_item(self, tenant: str, conversation_id: str, item_id: str) -> bool:
        rows = [row for row in self._query(tenant, conversation_id, item_id) if row["sk"]["S"] != META]
        if not rows:
            return False
        self._client.delete_item(TableName=self._table, Key={"pk": rows[0]["pk"], "sk": rows[0]["sk"]})
        if "blob" in rows[0] and self._blobs is not None:
            self._blobs.delete(rows[0]["blob"]["S"])
        return True

    def _query(self, tenant: str, conversation_id: str, item_id: str | None = None) -> Iterator[Item]:
        """The partition in one Query (more pages only past 1 MB); with ``item_id``, only that item and meta."""
        args: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": conversation_pk(tenant, conversation_id)}},
            "ConsistentRead": True,
        }
        if item_id is not None:
            args["FilterExpression"] = "sk = :meta OR item_id = :item"
            args["ExpressionAttributeValues"].update({":meta": {"S": META}, ":item": {"S": item_id}})
        for page in self._client.get_paginator("query").paginate(**args):
            yield from page["Items"]

    def _key(self, tenant: str, conversation_id: str, sk: str) -> Item:
        return {"pk": {"S": conversation_pk(tenant, conversation_id)}, "sk": {"S": sk}}

    def _row(self, tenant: str, conversation_id: str, item: ContextItem) -> Item:
        """An item's attributes, without its sort key (the position is known only when the append commits)."""
        body = _ITEM.dump_json(item, exclude_none=False)
        row: Item = {"pk": {"S": conversation_pk(tenant, conversation_id)}}
        if item.id is not None:
            row["item_id"] = {"S": item.id}
        if len(body) <= INLINE_LIMIT:
            return {**row, "item": {"S": body.decode()}}
        if self._blobs is None:
            raise InvalidRequestError(
                "This item is too large to store without a payload bucket (RESPONSES_PAYLOAD_BUCKET).",
                code="payload_too_large",
            )
        # A fresh key per write: a losing append's upload never overwrites what a winning one points at.
        key = f"{blob_prefix(tenant, conversation_id)}{secrets.token_hex(16)}.json"
        self._blobs.put(key, body)
        return {**row, "blob": {"S": key}}

    def _item(self, row: Item) -> ContextItem:
        if "item" in row:
            return _ITEM.validate_json(row["item"]["S"])
        if self._blobs is None:
            raise RuntimeError("a conversation item is in S3 but no payload bucket is configured")
        return _ITEM.validate_json(self._blobs.get(row["blob"]["S"]))

    def _drop_blobs(self, rows: list[Item]) -> None:
        if self._blobs is not None:
            for row in rows:
                if "blob" in row:
                    self._blobs.delete(row["blob"]["S"])


def _chunks(rows: list[Item]) -> Iterator[list[Item]]:
    """Rows in transactions of at most 99 puts (the meta update is the 100th) and about 3.5 MB."""
    chunk: list[Item] = []
    size = 0
    for row in rows:
        row_size = len(row["item"]["S"] if "item" in row else row["blob"]["S"])
        if chunk and (len(chunk) == _TRANSACTION_WRITES - 1 or size + row_size > _TRANSACTION_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(row)
        size += row_size
    if chunk:
        yield chunk


def _conversation(tenant: str, conversation_id: str, meta: Item) -> StoredConversation:
    metadata: dict[str, str] = json.loads(meta["metadata"]["S"])
    return StoredConversation(
        tenant=tenant, id=conversation_id, created_at=int(meta["created_at"]["N"]), metadata=metadata
    )
