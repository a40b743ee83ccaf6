"""SQS event records as the worker receives them: each record's job (``domain.ports.BackgroundJob``), receive
count and receipt handle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.domain.ports import BackgroundJob


@dataclass(frozen=True)
class Delivery:
    """One SQS record of a worker invocation: the job, and how often SQS has handed it out so far."""

    message_id: str
    job: BackgroundJob
    receive_count: int
    receipt_handle: str | None = None
    """This receive's handle: what changes the message's visibility (a later receive gets another)."""


def deliveries(event: dict[str, Any]) -> list[Delivery | str]:
    """The records of an SQS event; a record whose body is not a job comes back as its bare message id."""
    parsed: list[Delivery | str] = []
    for record in event.get("Records", []):
        message_id = str(record.get("messageId", ""))
        try:
            job = BackgroundJob.model_validate_json(record["body"])
        except (KeyError, ValueError):
            parsed.append(message_id)
            continue
        count = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        handle = record.get("receiptHandle") or None
        parsed.append(Delivery(message_id=message_id, job=job, receive_count=count, receipt_handle=handle))
    return parsed
