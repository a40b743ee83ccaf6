"""``DynamoTenantSlots``: at most N background jobs of one tenant running at once, enforced by DynamoDB.

Each tenant has N slot items, each a lease:

    pk = "t#<tenant>#slots"   sk = "<slot:03d>"   holder = "<response id>#<attempt>"   lease_until = unix seconds

Taking a slot is one conditional write (free, expired, or already ours), so two workers never hold the same
slot and there is no read-modify-write to race. The holder renews its lease with its heartbeat and frees the
slot when its run ends; a worker that dies simply stops renewing, and the slot is free again once its lease has
run out. ``expires_at`` lets DynamoDB's TTL remove slots a tenant no longer uses.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_IDLE_TTL_SECONDS = 86_400


def _key(tenant: str, slot: int) -> dict[str, Any]:
    return {"pk": {"S": f"t#{tenant}#slots"}, "sk": {"S": f"{slot:03d}"}}


class DynamoTenantSlots:
    def __init__(self, table: str, client: DynamoDBClient) -> None:
        self._table = table
        self._client = client

    def acquire(self, tenant: str, holder: str, *, limit: int, now: float, until: float) -> int | None:
        """A slot of ``tenant`` for ``holder`` until ``until``, or None when all ``limit`` are held."""
        first = zlib.crc32(holder.encode()) % limit  # spread racing workers over the slots
        for offset in range(limit):
            slot = (first + offset) % limit
            if self._write(
                tenant,
                slot,
                "SET holder = :me, lease_until = :until, expires_at = :ttl",
                "attribute_not_exists(holder) OR lease_until < :now OR holder = :me",
                {":me": {"S": holder}, ":now": {"N": repr(now)}, **_lease(until)},
            ):
                return slot
        return None

    def renew(self, tenant: str, slot: int, holder: str, *, until: float) -> bool:
        """Extend ``holder``'s lease; False if the slot is no longer its own."""
        return self._write(
            tenant,
            slot,
            "SET lease_until = :until, expires_at = :ttl",
            "holder = :me",
            {":me": {"S": holder}, **_lease(until)},
        )

    def release(self, tenant: str, slot: int, holder: str) -> None:
        """Free the slot at once, if ``holder`` still has it."""
        self._write(tenant, slot, "REMOVE holder, lease_until", "holder = :me", {":me": {"S": holder}})

    def _write(self, tenant: str, slot: int, update: str, condition: str, values: dict[str, Any]) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(tenant, slot),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


def _lease(until: float) -> dict[str, Any]:
    return {":until": {"N": repr(until)}, ":ttl": {"N": str(int(until) + _IDLE_TTL_SECONDS)}}
