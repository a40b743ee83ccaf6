"""Conditional writes that move a background response along ``domain/status.py``'s table.

Who may write, and when (each write is one conditional DynamoDB request, so exactly one racer wins):

    claim      queued ─► in_progress, attempt+1           (#status = queued AND attempt = n)
    takeover   in_progress ─► in_progress, attempt+1      (... AND attempt = n AND heartbeat_at < now - lease)
    heartbeat  partial output, heartbeat_at = now         (#status = in_progress AND attempt = n)
    release    heartbeat_at = 0 [, failures+1]            (#status = in_progress AND attempt = n)
    settle     ─► completed | failed | incomplete | cancelled, plus the attempt's terminal event, atomically
               (#status IN the guard's sources [AND attempt = n] [AND heartbeat_at < stale])

A cancel is a settle without an attempt, so it beats a worker's settle or loses to it, never both; the worker
learns it lost from its next heartbeat or its own settle failing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gateway.domain.ids import thread_of
from gateway.domain.ports import Guard, StoredResponse
from gateway.schemas.events import StreamEvent
from gateway.schemas.responses import Response
from gateway.store.events import DynamoEventLog, event_items
from gateway.store.records import INLINE_LIMIT, Item, blob_key, response_json, response_key, to_item

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from gateway.blobs.base import BlobStore

_TRANSACTION_ITEMS = 100
_CONFLICT_RETRIES = 3


def _condition(guard: Guard) -> tuple[str, dict[str, str], dict[str, Any]]:
    """``guard`` as a ConditionExpression with its names and values."""
    sources = sorted(guard.sources)
    values: dict[str, Any] = {f":s{index}": {"S": status} for index, status in enumerate(sources)}
    parts = [f"#status IN ({', '.join(values)})"]
    if guard.attempt is not None:
        parts.append("attempt = :attempt")
        values[":attempt"] = {"N": str(guard.attempt)}
    if guard.stale_before is not None:
        parts.append("heartbeat_at < :stale")
        values[":stale"] = {"N": repr(guard.stale_before)}
    return " AND ".join(parts), {"#status": "status"}, values


def _lost(exc: ClientError) -> bool:
    """The write's condition did not hold (as opposed to a fault)."""
    error = exc.response.get("Error", {})
    if error.get("Code") == "ConditionalCheckFailedException":
        return True
    reasons: list[Any] = list(exc.response.get("CancellationReasons", []))
    return error.get("Code") == "TransactionCanceledException" and any(
        reason.get("Code") == "ConditionalCheckFailed" for reason in reasons
    )


def _conflict(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("TransactionConflictException", "TransactionCanceledException")


class ConditionalWrites:
    """Mixed into ``DynamoResponseStore``: the ``ResponseStore`` methods background work uses."""

    _table: str
    _client: DynamoDBClient
    _blobs: BlobStore | None

    def _offload(self, item: Item, key: str) -> Item:
        raise NotImplementedError

    def claim(
        self, record: StoredResponse, guard: Guard, *, now: float, response: Response, failures: int = 0
    ) -> StoredResponse | None:
        condition, names, values = _condition(guard)
        attempt = record.attempt + 1
        values |= {
            ":in_progress": {"S": "in_progress"},
            ":next": {"N": str(attempt)},
            ":now": {"N": repr(now)},
            ":failures": {"N": str(failures)},
        }
        update = "SET #status = :in_progress, attempt = :next, heartbeat_at = :now, failures = :failures"
        stored = response_json(response)
        if len(stored.encode()) <= INLINE_LIMIT:
            update += ", #response = :response"
            names["#response"] = "response"
            values[":response"] = {"S": stored}
        if not self._update(record.tenant, record.thread, record.id, update, condition, names, values):
            return None
        return dataclasses.replace(
            record,
            status="in_progress",
            attempt=attempt,
            heartbeat_at=now,
            response=response,
            failures=failures,
        )

    def heartbeat(self, tenant: str, response_id: str, attempt: int, *, now: float, snapshot: Response | None) -> bool:
        condition, names, values = _condition(Guard(frozenset({"in_progress"}), attempt=attempt))
        values[":now"] = {"N": repr(now)}
        update = "SET heartbeat_at = :now"
        # Partial output too large to keep inline is simply not refreshed: status and heartbeat still are.
        stored = response_json(snapshot) if snapshot is not None else None
        if stored is not None and len(stored.encode()) <= INLINE_LIMIT:
            update += ", #response = :response"
            names["#response"] = "response"
            values[":response"] = {"S": stored}
        return self._update(tenant, _thread(response_id), response_id, update, condition, names, values)

    def release(self, tenant: str, response_id: str, attempt: int, *, failed: bool) -> None:
        condition, names, values = _condition(Guard(frozenset({"in_progress"}), attempt=attempt))
        values[":zero"] = {"N": "0"}
        update = "SET heartbeat_at = :zero"
        if failed:
            update += ", failures = if_not_exists(failures, :zero) + :one"
            values[":one"] = {"N": "1"}
        self._update(tenant, _thread(response_id), response_id, update, condition, names, values)

    def settle(self, record: StoredResponse, guard: Guard, events: Sequence[StreamEvent] = ()) -> bool:
        condition, names, values = _condition(guard)
        item = self._offload(to_item(record), blob_key(record, f".{record.status}.{record.attempt}"))
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": item,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if not events:
            try:
                self._client.put_item(**put)
            except ClientError as exc:
                if _lost(exc):
                    return False
                raise
            return True
        room = _TRANSACTION_ITEMS - 1
        early, last = events[:-room], events[-room:]
        if early:  # only the last events need to be atomic with the status; in practice there is one
            DynamoEventLog(self._table, self._client, self._blobs).append(
                record.tenant, record.id, record.attempt, early, record.expires_at
            )
        writes: list[Any] = [{"Put": put}]
        writes += [
            {"Put": {"TableName": self._table, "Item": event}}
            for event in event_items(record.tenant, record.id, record.attempt, last, record.expires_at, self._blobs)
        ]
        for attempt in range(_CONFLICT_RETRIES):
            try:
                self._client.transact_write_items(TransactItems=writes)
                return True
            except ClientError as exc:
                if _lost(exc):
                    return False
                if not _conflict(exc) or attempt == _CONFLICT_RETRIES - 1:
                    raise
        return False

    def _update(
        self,
        tenant: str,
        thread: str,
        response_id: str,
        update: str,
        condition: str,
        names: dict[str, str],
        values: dict[str, Any],
    ) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=response_key(tenant, thread, response_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if _lost(exc):
                return False
            raise
        return True


def _thread(response_id: str) -> str:
    thread = thread_of(response_id)
    if thread is None:
        raise ValueError(f"not a gateway response id: {response_id}")
    return thread
