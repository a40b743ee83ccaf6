"""The partial output of a background response: folded from its events while it runs, closed when it ends early.

A background worker stores the fold with each heartbeat, so polling shows text growing without anyone replaying
events. It mirrors what the SDKs' stream helpers accumulate: items on ``output_item.added``, parts on
``content_part.added``, deltas appended, each item replaced whole by its ``output_item.done``.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.schemas.events import (
    ContentPartEvent,
    CustomToolCallInputDeltaEvent,
    FunctionCallArgumentsDeltaEvent,
    OutputItemEvent,
    OutputTextDeltaEvent,
    ReasoningSummaryPartEvent,
    ReasoningSummaryTextDeltaEvent,
    ReasoningTextDeltaEvent,
    RefusalDeltaEvent,
    StreamEvent,
)
from gateway.schemas.responses import Response, ResponseError, ResponseStatus

_RUN_FIELDS = ("output", "usage", "error", "completed_at", "incomplete_details")


class PartialOutput:
    def __init__(self) -> None:
        self._items: dict[int, dict[str, Any]] = {}
        self.changed = False

    def apply(self, event: StreamEvent) -> None:
        match event:
            case OutputItemEvent():
                self._items[event.output_index] = event.item.model_dump(mode="json")
            case ContentPartEvent(type="response.content_part.added"):
                self._list(event.output_index, "content").append(event.part.model_dump(mode="json"))
            case ReasoningSummaryPartEvent(type="response.reasoning_summary_part.added"):
                self._list(event.output_index, "summary").append(event.part.model_dump(mode="json"))
            case FunctionCallArgumentsDeltaEvent():
                item = self._items.setdefault(event.output_index, {})
                item["arguments"] = item.get("arguments", "") + event.delta
            case CustomToolCallInputDeltaEvent():
                item = self._items.setdefault(event.output_index, {})
                item["input"] = item.get("input", "") + event.delta
            case ReasoningTextDeltaEvent():
                self._append(event.output_index, "content", event.content_index, "text", event.delta)
            case OutputTextDeltaEvent():
                self._append(event.output_index, "content", event.content_index, "text", event.delta)
            case RefusalDeltaEvent():
                self._append(event.output_index, "content", event.content_index, "refusal", event.delta)
            case ReasoningSummaryTextDeltaEvent():
                self._append(event.output_index, "summary", event.summary_index, "text", event.delta)
            case _:
                return
        self.changed = True

    def response_json(self, shell: Response) -> str:
        """``shell`` (status ``in_progress``) with the output so far, as stored JSON."""
        self.changed = False
        body = shell.model_dump(mode="json")
        body["status"] = "in_progress"
        body["output"] = [self._items[index] for index in sorted(self._items)]
        return json.dumps(body, separators=(",", ":"))

    def _list(self, index: int, field: str) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = self._items.setdefault(index, {}).setdefault(field, [])
        return parts

    def _append(self, index: int, field: str, position: int, key: str, delta: str) -> None:
        parts = self._list(index, field)
        if position < len(parts):
            parts[position][key] = parts[position].get(key, "") + delta


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
