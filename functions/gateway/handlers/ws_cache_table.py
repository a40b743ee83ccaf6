"""The ``store: false`` cache of a WebSocket API connection, kept in the table between turns.

Locally a connection's cache (``api/ws_cache.py``) lives in the process that holds the socket. On AWS every turn
may run in another function instance, so ``TableCache`` loads the connection's cache before a turn and writes
what changed after it, under the connection's partition (``pk = ws#<connection id>``):

- ``sk = r#<response id>``: one record as the response store writes one (``store/records.py``: the whole
  response, private reasoning state included), **sealed** with the stage's sealing keys for the tenant
  (``domain/sealing.py``): a ``store: false`` response is never readable in the table, even for its two hours;
- ``sk = e#<response id>``: a cache entry: the ids of its lineage, oldest first, its lane, and whether this
  connection created it.

Every item carries ``expires_at`` at the connection's longest life, so the table's TTL clears what a missed
``$disconnect`` leaves; ``$disconnect`` deletes the partition. A record too large for one item (400 KB) is not
kept: a continuation from it answers ``previous_response_not_found``, as after a reconnect.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from gateway.api.ws_cache import CacheEntry, ConnectionCache
from gateway.domain.ports import ResponseStore, StoredResponse
from gateway.domain.sealing import InvalidEncryptedContentError, Sealer
from gateway.handlers.ws_connections import LONGEST_CONNECTION_SECONDS, connection_pk
from gateway.store.records import from_item, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = logging.getLogger("gateway.websocket")
ITEM_BYTES = 390_000
"""Below DynamoDB's 400 KB item limit, with room for the key and attribute names."""
PURPOSE = "ws.cache"
"""What the sealed records are, so no other sealed state of the tenant opens as one."""


class TableCache(ConnectionCache):
    def __init__(
        self,
        inner: ResponseStore,
        tenant: str,
        client: DynamoDBClient,
        table: str,
        connection_id: str,
        sealer: Sealer,
    ) -> None:
        super().__init__(inner, tenant)
        self._sealer = sealer
        self._client = client
        self._table = table
        self._pk = connection_pk(connection_id)
        self._loaded: dict[str, CacheEntry] = {}
        self._written: set[str] = set()

    async def load(self) -> None:
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk > :after",
            ExpressionAttributeValues={":pk": {"S": self._pk}, ":after": {"S": "e#"}},
            ConsistentRead=True,
        )
        items = [item for page in pages for item in page.get("Items", [])]
        records: dict[str, StoredResponse] = {}
        for item in items:
            if item["sk"]["S"].startswith("r#"):
                try:
                    kept = json.loads(self._sealer.open(self._tenant, PURPOSE, item["sealed"]["S"]))
                except InvalidEncryptedContentError:  # sealed under a key since retired: as if never kept
                    continue
                records[item["sk"]["S"][2:]] = from_item(kept, self._tenant)
        self._written = set(records)
        entries = sorted((item for item in items if item["sk"]["S"].startswith("e#")), key=lambda i: i["used"]["N"])
        for item in entries:
            ids = [value["S"] for value in item["lineage"]["L"]]
            if all(response_id in records for response_id in ids):
                lane = item["lane"]["S"] if "lane" in item else None
                entry = CacheEntry([records[i] for i in ids], lane, owned=item["owned"]["BOOL"])
                self._keep(ids[-1], entry)
        self._loaded = dict(self._entries)

    async def save(self) -> None:
        expires = {"N": str(int(time.time()) + LONGEST_CONNECTION_SECONDS)}
        for response_id, entry in self._entries.items():
            if self._loaded.get(response_id) is entry:
                continue
            if not all(self._write_record(record, expires) for record in entry.lineage):
                continue
            item: dict[str, Any] = {
                "pk": {"S": self._pk},
                "sk": {"S": f"e#{response_id}"},
                "lineage": {"L": [{"S": record.id} for record in entry.lineage]},
                "owned": {"BOOL": entry.owned},
                "used": {"N": str(time.time_ns())},
                "expires_at": expires,
            }
            if entry.lane is not None:
                item["lane"] = {"S": entry.lane}
            self._client.put_item(TableName=self._table, Item=item)
        for response_id in self._loaded.keys() - self._entries.keys():  # evicted during the turn
            self._client.delete_item(
                TableName=self._table, Key={"pk": {"S": self._pk}, "sk": {"S": f"e#{response_id}"}}
            )
        self._loaded = dict(self._entries)

    def _write_record(self, record: StoredResponse, expires: dict[str, str]) -> bool:
        if record.id in self._written:
            return True
        sealed = self._sealer.seal(self._tenant, PURPOSE, json.dumps(to_item(record)).encode())
        item: dict[str, Any] = {
            "pk": {"S": self._pk},
            "sk": {"S": f"r#{record.id}"},
            "sealed": {"S": sealed},
            "expires_at": expires,
        }
        if len(sealed) > ITEM_BYTES:
            logger.warning("a store:false response is too large for the connection cache; not kept")
            return False
        self._client.put_item(TableName=self._table, Item=item)
        self._written.add(record.id)
        return True
