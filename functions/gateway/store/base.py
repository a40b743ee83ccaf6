"""The ``ResponseStore`` port and the record it stores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from pydantic import TypeAdapter

from gateway.schemas.items import ContextItem
from gateway.schemas.responses import Response, ResponseStatus

_ITEMS: TypeAdapter[list[ContextItem]] = TypeAdapter(list[ContextItem])


@dataclass(frozen=True)
class StoredResponse:
    """One stored response: the Response as last written, the input items that formed it, and its place."""

    tenant: str
    id: str
    thread: str
    parent: str | None
    status: ResponseStatus
    response_json: str
    """The full Response, private reasoning state included."""
    input_json: str
    """This response's own input items (with ids), as a JSON array."""
    expires_at: int
    background: bool = False
    stream: bool = False
    """Created with ``stream: true`` (a background response can then be replayed as a stream)."""
    request_json: str | None = None
    """The validated create request, kept for background work."""

    @cached_property
    def response(self) -> Response:
        return Response.model_validate_json(self.response_json)

    @cached_property
    def input_items(self) -> list[ContextItem]:
        return _ITEMS.validate_json(self.input_json)

    def context_items(self) -> list[ContextItem]:
        """What this turn adds to a conversation: its input, then its output."""
        return [*self.input_items, *self.response.output]


def dump_items(items: Sequence[ContextItem]) -> str:
    return _ITEMS.dump_json(list(items), exclude_none=False).decode()


class ResponseStore(Protocol):
    """Responses by tenant and id. Every method is scoped to one tenant; other tenants' data is invisible."""

    def put(self, record: StoredResponse) -> None:
        """Write a new response; an existing id is never overwritten."""
        ...

    def get(self, tenant: str, response_id: str) -> StoredResponse | None:
        """The response, or None when unknown, deleted or expired."""
        ...

    def chain(self, tenant: str, response_id: str) -> list[StoredResponse]:
        """The response and its ancestors, oldest first, in O(1) round trips; empty when not found."""
        ...

    def find_items(self, tenant: str, item_ids: Sequence[str]) -> dict[str, ContextItem]:
        """Stored input or output items by id (for ``item_reference``); unknown ids are left out."""
        ...

    def delete(self, tenant: str, response_id: str) -> None:
        """Delete; raises ``NotFoundError`` if absent and ``InvalidRequestError`` if still in flight."""
        ...
