"""Limit counters and the usage ledger in the one table, with atomic DynamoDB counters only.

Keys (every item expires through the table's TTL on ``expires_at``):

| item | pk | sk | attributes |
|---|---|---|---|
| a key's minute window | ``t#<tenant>#k#<key id>#w`` | ``m#<unix minute>`` | ``requests``, ``tokens`` (2 minutes) |
| a key's day window | ``t#<tenant>#k#<key id>#w`` | ``d#<unix day>`` | ``tokens`` (kept 2 days) |
| ledger, a day | ``u#<unix day>`` | ``d#<tenant>#<key id>#<model>`` | the counters below (kept 400 days) |
| ledger, an hour | ``u#<unix day>`` | ``h#<hour:02>#<tenant>#<key id>#<model>`` | the counters below (kept 400 days) |

A check is one conditional ``UpdateItem`` per window that has a limit: it adds the request (and the tokens
reserved) only if the window is still under its limit, so concurrent requests can never pass a limit together —
DynamoDB serializes the updates of one item. Settling is up to four independent single-item ``ADD``s (the
reservation's windows, the ledger's day and hour), sent at once after the response's own write: one round trip,
no transaction (it would cost twice the write units and buy nothing: no update needs another). A day's ledger is
one partition: reading a day for the Usage API is one Query.
"""

from __future__ import annotations

import asyncio
import logging
import time
from asyncio import to_thread
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from gateway.domain.limits import (
    DAY,
    MINUTE,
    Limits,
    Principal,
    Reservation,
    out_of_quota,
    over_limit,
    ratelimit_headers,
)
from gateway.domain.metering import Spent
from gateway.errors import GatewayError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LEDGER_DAYS = 400
"""Over 13 months, as the issue asks: a year-over-year comparison needs the month a year back."""
NEAR_BUDGET = 0.8
"""Share of a day's token budget past which each request logs the ``BudgetUsed`` metric (the alarm's input)."""
METRICS_NAMESPACE = "ResponsesGateway"
logger = logging.getLogger("gateway.usage")
COUNTERS = ("requests", "input_tokens", "cached_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens")


@dataclass(frozen=True, slots=True)
class LedgerRow:
    tenant: str
    key_id: str
    model: str
    start: int
    """Start of the row's bucket (unix seconds): a UTC day, or an hour."""
    counts: dict[str, int]


class DynamoUsage:
    def __init__(
        self,
        table: str,
        client: DynamoDBClient,
        clock: Callable[[], float] = time.time,
        *,
        namespace: str = METRICS_NAMESPACE,
    ) -> None:
        self._table = table
        self._client = client
        self._clock = clock
        self._namespace = namespace

    def reserve(self, principal: Principal, tokens: int) -> Reservation:
        """Count a request and hold ``tokens`` in its key's windows, or raise the 429 that refuses it."""
        limits = principal.limits
        at = self._clock()
        minute, day = int(at // MINUTE), int(at // DAY)
        window = _window(principal)
        if limits.tpm is not None:
            tokens = min(tokens, limits.tpm)  # a request larger than the limit still runs alone in a window
        headers: dict[str, str] = {}
        counted_minute = limits.rpm is not None or limits.tpm is not None
        if counted_minute:
            used = self._take_minute(window, minute, tokens, principal, at)
            headers = ratelimit_headers(limits, used["requests"], used["tokens"], at, minute)
        if limits.tokens_per_day is not None:
            try:
                spent = self._take_day(window, day, tokens, limits.tokens_per_day)
            except Exception:
                if counted_minute:  # give the minute back: this request does not run
                    self._add(window, f"m#{minute}", requests=-1, tokens=-tokens)
                raise
            if spent >= NEAR_BUDGET * limits.tokens_per_day:
                _budget_metric(principal, spent / limits.tokens_per_day, self._namespace)
        return Reservation(
            tenant=principal.tenant,
            key_id=principal.key_id,
            minute=minute if counted_minute else 0,
            day=day if limits.tokens_per_day is not None else 0,
            tokens=tokens,
            headers=headers,
        )

    def _take_minute(self, window: str, minute: int, tokens: int, principal: Principal, at: float) -> dict[str, int]:
        limits = principal.limits
        conditions, values = [], {":one": {"N": "1"}, ":t": {"N": str(tokens)}, ":exp": {"N": str((minute + 2) * 60)}}
        if limits.rpm is not None:
            conditions.append("(attribute_not_exists(requests) OR requests < :rpm)")
            values[":rpm"] = {"N": str(limits.rpm)}
        if limits.tpm is not None:
            conditions.append("(attribute_not_exists(tokens) OR tokens <= :tmax)")
            values[":tmax"] = {"N": str(limits.tpm - tokens)}
        try:
            reply = self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": window}, "sk": {"S": f"m#{minute}"}},
                UpdateExpression="ADD requests :one, tokens :t SET expires_at = if_not_exists(expires_at, :exp)",
                ConditionExpression=" AND ".join(conditions),
                ExpressionAttributeValues=values,
                ReturnValues="UPDATED_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            old = _numbers(cast(dict[str, Any], exc.response.get("Item", {})))
            retry = (minute + 1) * MINUTE - at
            if limits.rpm is not None and old.get("requests", 0) >= limits.rpm:
                raise _with_headers(
                    over_limit("requests", limits.rpm, old["requests"], 1, retry), limits, old, at, minute
                ) from None
            assert limits.tpm is not None
            raise _with_headers(
                over_limit("tokens", limits.tpm, old.get("tokens", 0), tokens, retry), limits, old, at, minute
            ) from None
        return _numbers(reply.get("Attributes", {}))

    def _take_day(self, window: str, day: int, tokens: int, budget: int) -> int:
        """Hold ``tokens`` of the day's budget unless it is spent; the day's tokens so far."""
        try:
            reply = self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": window}, "sk": {"S": f"d#{day}"}},
                UpdateExpression="ADD tokens :t SET expires_at = if_not_exists(expires_at, :exp)",
                ConditionExpression="attribute_not_exists(tokens) OR tokens < :budget",
                ExpressionAttributeValues={
                    ":t": {"N": str(tokens)},
                    ":budget": {"N": str(budget)},
                    ":exp": {"N": str((day + 2) * DAY)},
                },
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            raise out_of_quota(budget) from None
        return _numbers(reply.get("Attributes", {})).get("tokens", 0)

    def settle(self, reservation: Reservation, spent: Spent, *, ledger: bool = True) -> None:
        """Replace the reservation by what was used, and add it to the ledger (one after the other)."""
        for update in self.settlement(reservation, spent, ledger=ledger):
            update()

    def settlement(self, reservation: Reservation, spent: Spent, *, ledger: bool = True) -> list[Callable[[], None]]:
        """The independent single-item updates that settle a response, to run at once (``ThreadedMeter``): each
        is an atomic ``ADD``, and none needs another, so no transaction (which would cost twice the units)."""
        at = self._clock()
        day, hour = int(at // DAY), int(at % DAY // 3600)
        delta = spent.total - reservation.tokens
        window = f"t#{reservation.tenant}#k#{reservation.key_id}#w"
        updates: list[dict[str, Any]] = []
        if reservation.minute and delta:
            updates.append(_add_op(self._table, window, f"m#{reservation.minute}", {"tokens": delta}))
        if reservation.day and delta:
            updates.append(_add_op(self._table, window, f"d#{reservation.day}", {"tokens": delta}))
        if ledger:
            counts = _counts(spent)
            who = f"{reservation.tenant}#{reservation.key_id}#{spent.model}"
            names = {"tenant": reservation.tenant, "key_id": reservation.key_id, "model": spent.model}
            expires = int(at) + LEDGER_DAYS * DAY
            hour_start = day * DAY + hour * 3600
            updates.append(_ledger_op(self._table, day, f"d#{who}", counts, names, day * DAY, expires))
            updates.append(_ledger_op(self._table, day, f"h#{hour:02d}#{who}", counts, names, hour_start, expires))
        return [partial(self._update, update) for update in updates]

    def _update(self, update: dict[str, Any]) -> None:
        self._client.update_item(**update)

    def rows(self, day: int, hourly: bool) -> Iterator[LedgerRow]:
        """The ledger rows of one UTC day (unix day number): its day rows, or its hour rows."""
        paginator = self._client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :kind)",
            ExpressionAttributeValues={":pk": {"S": f"u#{day}"}, ":kind": {"S": "h#" if hourly else "d#"}},
        ):
            for item in page.get("Items", []):
                numbers = _numbers(item)
                yield LedgerRow(
                    tenant=item["tenant"]["S"],
                    key_id=item["key_id"]["S"],
                    model=item["model"]["S"],
                    start=numbers["start"],
                    counts={name: numbers.get(name, 0) for name in COUNTERS},
                )

    def _add(self, window: str, sk: str, **amounts: int) -> None:
        self._update(_add_op(self._table, window, sk, amounts))


class ThreadedMeter:
    """The ``Meter`` port: ``DynamoUsage``'s blocking calls on a worker thread."""

    def __init__(self, usage: DynamoUsage) -> None:
        self.blocking = usage

    async def reserve(self, principal: Principal, tokens: int) -> Reservation:
        return await to_thread(self.blocking.reserve, principal, tokens)

    async def settle(self, reservation: Reservation, spent: Spent, *, ledger: bool = True) -> None:
        """The updates at once, one thread each: settling costs one round trip, not four."""
        updates = self.blocking.settlement(reservation, spent, ledger=ledger)
        await asyncio.gather(*(to_thread(update) for update in updates))


def _budget_metric(principal: Principal, used: float, namespace: str) -> None:
    """CloudWatch's embedded metric format in the line's fields (JSON logs put them at the top level, where
    CloudWatch reads ``_aws``): the log line is the metric, with no API call on the request path."""
    metric = {
        "Namespace": namespace,
        "Dimensions": [["Tenant"], []],
        "Metrics": [{"Name": "BudgetUsed", "Unit": "Percent"}],
    }
    fields = {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [metric]},
        "Tenant": principal.tenant,
        "BudgetUsed": round(used * 100, 1),
    }
    logger.warning("key %s has used %.0f%% of its daily token budget", principal.key_id, used * 100, extra=fields)


def _window(principal: Principal) -> str:
    return f"t#{principal.tenant}#k#{principal.key_id}#w"


def _numbers(item: dict[str, Any]) -> dict[str, int]:
    return {name: int(value["N"]) for name, value in item.items() if "N" in value}


def _counts(spent: Spent) -> dict[str, int]:
    return {
        "requests": 1,
        "input_tokens": spent.input_tokens,
        "cached_tokens": spent.cached_tokens,
        "cache_write_tokens": spent.cache_write_tokens,
        "output_tokens": spent.output_tokens,
        "reasoning_tokens": spent.reasoning_tokens,
    }


def _add_op(table: str, pk: str, sk: str, amounts: dict[str, int]) -> dict[str, Any]:
    names = {f"#c{index}": name for index, name in enumerate(amounts)}
    values = {f":c{index}": {"N": str(amount)} for index, amount in enumerate(amounts.values())}
    adds = ", ".join(f"#c{index} :c{index}" for index in range(len(amounts)))
    return {
        "TableName": table,
        "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
        "UpdateExpression": f"ADD {adds}",
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _ledger_op(
    table: str, day: int, sk: str, counts: dict[str, int], names: dict[str, str], start: int, expires: int
) -> dict[str, Any]:
    op = _add_op(table, f"u#{day}", sk, counts)
    update = op
    sets = ", ".join(f"#n_{name} = :n_{name}" for name in names)
    update["UpdateExpression"] += f" SET {sets}, #start = :start, expires_at = :exp"
    update["ExpressionAttributeNames"].update({f"#n_{name}": name for name in names} | {"#start": "start"})
    update["ExpressionAttributeValues"].update(
        {f":n_{name}": {"S": value} for name, value in names.items()}
        | {":start": {"N": str(start)}, ":exp": {"N": str(expires)}}
    )
    return op


def _with_headers(error: GatewayError, limits: Limits, old: dict[str, int], at: float, minute: int) -> GatewayError:
    error.headers = ratelimit_headers(limits, old.get("requests", 0), old.get("tokens", 0), at, minute)
    return error
