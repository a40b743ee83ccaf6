"""The jobs-queue message contract: ``{"tenant": ..., "response_id": ...}`` as the SQS message body.

Only the address of the work travels: the request itself waits in DynamoDB with the queued response, so a
message is small, carries no prompt, and a redelivered one finds the response's current state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict


class BackgroundJob(BaseModel):
    """Run (or finish) the background response ``response_id`` of ``tenant``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    tenant: str
    response_id: str

    def body(self) -> str:
        return self.model_dump_json()


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
