"""API keys in DynamoDB, stored only as SHA-256 hashes with their tenant."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.domain.ids import now
from gateway.domain.limits import UNLIMITED, Limits, parse_limits

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY_PREFIX = "sk-gw-"
TENANT_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_id: str
    """The first 12 hex digits of the hash: enough to name a key, useless to use it."""
    tenant: str
    created_at: int
    revoked: bool
    limits: Limits = UNLIMITED
    """The key's own limits; those it has not set come from ``RESPONSES_DEFAULT_LIMITS``."""
    admin: bool = False
    """May read the Usage API."""


class DynamoKeyStore:
    def __init__(self, table: str, client: DynamoDBClient) -> None:
        self._table = table
        self._client = client

    @property
    def table(self) -> str:
        return self._table

    @property
    def client(self) -> DynamoDBClient:
        return self._client

    def create(self, tenant: str, limits: Limits = UNLIMITED, *, admin: bool = False) -> tuple[str, KeyRecord]:
        """A new key for ``tenant``: the secret (shown once) and its record."""
        if not TENANT_PATTERN.match(tenant):
            raise ValueError("tenant names are 1-64 letters, digits, '_', '.' or '-'")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        digest = key_hash(key)
        record = KeyRecord(
            key_id=digest[:12], tenant=tenant, created_at=now(), revoked=False, limits=limits, admin=admin
        )
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"key#{digest}"},
                "sk": {"S": "key"},
                "tenant": {"S": tenant},
                "key_id": {"S": record.key_id},
                "created_at": {"N": str(record.created_at)},
                "revoked": {"BOOL": False},
                "limits": {"S": limits.text()},
                "admin": {"BOOL": admin},
            },
            ConditionExpression="attribute_not_exists(pk)",
        )
        return key, record

    def tenant_of(self, digest: str) -> str | None:
        """The tenant owning the key with this hash, or None if unknown or revoked."""
        record = self.lookup(digest)
        return record.tenant if record is not None else None

    def lookup(self, digest: str) -> KeyRecord | None:
        """The live key with this hash, or None if unknown or revoked."""
        reply = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": f"key#{digest}"}, "sk": {"S": "key"}}, ConsistentRead=True
        )
        item = reply.get("Item")
        if not item or item.get("revoked", {}).get("BOOL", False):
            return None
        return _record(item)

    def set_limits(self, key_id: str, limits: Limits) -> bool:
        """Replace the key's own limits; False when no such key exists."""
        for item in self._items(key_id):
            self._client.update_item(
                TableName=self._table,
                Key={"pk": item["pk"], "sk": item["sk"]},
                UpdateExpression="SET limits = :limits",
                ExpressionAttributeValues={":limits": {"S": limits.text()}},
            )
            return True
        return False

    def _items(self, key_id: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in self._client.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression="begins_with(pk, :prefix) AND key_id = :id",
            ExpressionAttributeValues={":prefix": {"S": "key#"}, ":id": {"S": key_id}},
        ):
            found.extend(page.get("Items", []))
        return found

    def list(self) -> list[KeyRecord]:
        """Every key record (an admin scan; never on a request path)."""
        records: list[KeyRecord] = []
        for page in self._client.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression="begins_with(pk, :prefix)",
            ExpressionAttributeValues={":prefix": {"S": "key#"}},
        ):
            records.extend(_record(item) for item in page.get("Items", []))
        return sorted(records, key=lambda record: record.created_at)

    def revoke(self, key_id: str) -> bool:
        """Revoke the key named by ``key_id``; False when no such key exists."""
        for page in self._client.get_paginator("scan").paginate(
            TableName=self._table,
            FilterExpression="begins_with(pk, :prefix) AND key_id = :id",
            ExpressionAttributeValues={":prefix": {"S": "key#"}, ":id": {"S": key_id}},
        ):
            for item in page.get("Items", []):
                self._client.update_item(
                    TableName=self._table,
                    Key={"pk": item["pk"], "sk": item["sk"]},
                    UpdateExpression="SET revoked = :yes",
                    ExpressionAttributeValues={":yes": {"BOOL": True}},
                )
                return True
        return False


def _record(item: dict[str, Any]) -> KeyRecord:
    return KeyRecord(
        key_id=item["key_id"]["S"],
        tenant=item["tenant"]["S"],
        created_at=int(item["created_at"]["N"]),
        revoked=item.get("revoked", {}).get("BOOL", False),
        limits=parse_limits(item.get("limits", {}).get("S", "")),
        admin=item.get("admin", {}).get("BOOL", False),
    )
