"""A response's state at the edges of a run: as it was queued (where every attempt starts), and closed early
(cancelled, or failed outside the engine) with the output so far kept."""

from __future__ import annotations

import dataclasses

from gateway.domain.ports import StoredResponse
from gateway.schemas.responses import Response, ResponseError, ResponseStatus

_RUN_FIELDS = ("output", "usage", "error", "completed_at", "incomplete_details")


def queued_shell(response: Response) -> Response:
    """The response as it was queued, whatever a run has written into it since: a new attempt starts here."""
    blank = Response(id=response.id, created_at=response.created_at, status="queued", model=response.model)
    return response.model_copy(update={"status": "queued", **{name: getattr(blank, name) for name in _RUN_FIELDS}})


def close_partial(response: Response, status: ResponseStatus, error: ResponseError | None = None) -> Response:
    """End a run early (cancelled, or failed outside the engine): the output so far stays, unfinished items
    marked ``incomplete`` as the builder marks them."""
    output = [
        item.model_copy(update={"status": "incomplete"}) if getattr(item, "status", None) == "in_progress" else item
        for item in response.output
    ]
    return response.model_copy(update={"status": status, "error": error, "output": output, "completed_at": None})


def live(record: StoredResponse) -> Response:
    """The stored response with the record's status: a claim writes the status before any partial output."""
    response = record.response
    return response if response.status == record.status else response.model_copy(update={"status": record.status})


def rewritten(record: StoredResponse, response: Response) -> StoredResponse:
    """The record holding ``response``, its status with it."""
    return dataclasses.replace(record, status=response.status, response=response)
