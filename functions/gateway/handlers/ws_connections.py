"""A WebSocket API connection in the table: who it belongs to, kept from ``$connect`` to ``$disconnect``.

``$connect`` checks the key once (as the upgrade does locally) and writes ``pk = ws#<connection id>``,
``sk = connection``: the principal (tenant, key id, limits, never the key), when it connected, and an
``expires_at`` two hours and a minute later (API Gateway's longest connection), so the table's TTL removes what a
missed ``$disconnect`` leaves. Every turn, in whichever function instance, reads its principal from here;
``$disconnect`` deletes the item and the connection's ``store: false`` cache (``ws_cache_table.py``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from gateway.domain.limits import Limits, Principal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CONNECTION_SK = "connection"
LONGEST_CONNECTION_SECONDS = 2 * 3600 + 60
"""API Gateway closes a WebSocket connection after two hours; a minute more covers clock skew."""


def connection_pk(connection_id: str) -> str:
    return f"ws#{connection_id}"


@dataclass(frozen=True)
class Connection:
    id: str
    principal: Principal
    connected_at: float
    """Seconds since the epoch (API Gateway's ``connectedAt`` is in milliseconds)."""


class Connections:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def open(self, connection: Connection) -> None:
        principal = connection.principal
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": connection_pk(connection.id)},
                "sk": {"S": CONNECTION_SK},
                "tenant": {"S": principal.tenant},
                "key_id": {"S": principal.key_id},
                "admin": {"BOOL": principal.admin},
                "limits": {"S": json.dumps(asdict(principal.limits))},
                "connected_at": {"N": str(connection.connected_at)},
                "expires_at": {"N": str(int(connection.connected_at) + LONGEST_CONNECTION_SECONDS)},
            },
        )

    def get(self, connection_id: str) -> Connection | None:
        found = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": connection_pk(connection_id)}, "sk": {"S": CONNECTION_SK}},
            ConsistentRead=True,  # a turn queued right after $connect must see it
        ).get("Item")
        if found is None:
            return None
        item: dict[str, Any] = found
        principal = Principal(
            tenant=item["tenant"]["S"],
            key_id=item["key_id"]["S"],
            limits=Limits(**json.loads(item["limits"]["S"])),
            admin=item["admin"]["BOOL"],
        )
        return Connection(connection_id, principal, float(item["connected_at"]["N"]))

    def add_lane(self, connection_id: str, stream_id: str, limit: int) -> bool:
        """Record ``stream_id`` as one of the connection's named lanes; False when it would be lane ``limit + 1``
        (or the connection is gone). One conditional write, so racing frames cannot pass the limit together."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": connection_pk(connection_id)}, "sk": {"S": CONNECTION_SK}},
                UpdateExpression="ADD lanes :lane",
                ConditionExpression="attribute_exists(pk) AND "
                "(attribute_not_exists(lanes) OR contains(lanes, :id) OR size(lanes) < :limit)",
                ExpressionAttributeValues={
                    ":lane": {"SS": [stream_id]},
                    ":id": {"S": stream_id},
                    ":limit": {"N": str(limit)},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def close(self, connection_id: str) -> None:
        """Delete the connection and everything kept under it (its ``store: false`` cache)."""
        pk = connection_pk(connection_id)
        pages = self._client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": pk}},
            ProjectionExpression="pk, sk",
        )
        keys = [item for page in pages for item in page.get("Items", [])]
        for start in range(0, len(keys), 25):
            self._client.batch_write_item(
                RequestItems={self._table: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]}
            )
