"""The storage and queue ports the engine depends on, and the records that cross them.

The adapters (``store/``, ``queue/``) implement these; the domain imports no adapter. ``StoredResponse`` is the
domain's view of a stored response, objects only: the JSON and the DynamoDB item it maps to are
``store/records.py``'s business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from gateway.domain.limits import Reservation
from gateway.schemas.events import StreamEvent
from gateway.schemas.requests import ResponseCreateParams
from gateway.schemas.responses import Response, ResponseStatus
from gateway.schemas.tool_items import ContextItem


@dataclass(frozen=True)
class StoredResponse:
    """One stored response: the Response as last written, the input items that formed it, and its place."""

    tenant: str
    id: str
    thread: str
    parent: str | None
    status: ResponseStatus
    response: Response
    """The full Response, private reasoning state included."""
    input_items: list[ContextItem]
    """This response's own input items (with ids)."""
    expires_at: int
    background: bool = False
    stream: bool = False
    """Created with ``stream: true`` (a background response can then be replayed as a stream)."""
    request: ResponseCreateParams | None = None
    """The validated create request, kept for background work (its ``input`` is ``input_items``)."""
    attempt: int = 0
    """Background runs so far; the live one owns the record and its events are the ones replayed."""
    heartbeat_at: float = 0.0
    """When the live attempt last proved it was alive (unix seconds); 0 once released."""
    failures: int = 0
    """Background runs that died or raised so far (a run released to wait for the upstream is not one)."""
    client_metadata: dict[str, str] | None = None
    """The request's ``client_metadata`` (Codex's turn tags): kept with the record, never echoed or forwarded."""
    reservation: Reservation | None = None
    """What a background response reserved of its key's limits, for the worker to settle (``domain/metering.py``)."""

    def context_items(self) -> list[ContextItem]:
        """What this turn adds to a conversation: its input, then its output."""
        return [*self.input_items, *self.response.output]


class StoredEvent(StreamEvent, extra="allow"):
    """A stream event read back from the log: every field kept, so a replay is the same JSON as the original."""


@dataclass(frozen=True)
class Guard:
    """What a status write expects to find; the write happens only if all of it holds."""

    sources: frozenset[ResponseStatus]
    """Statuses the record may be in (from ``domain.status``)."""
    attempt: int | None = None
    """The background attempt that must still own the record."""
    stale_before: float | None = None
    """The owner's heartbeat must be older than this (its worker is presumed dead)."""


class ResponseStore(Protocol):
    """Responses by tenant and id. Every method is scoped to one tenant; other tenants' data is invisible."""

    async def put(self, record: StoredResponse) -> None:
        """Write a new response; an existing id is never overwritten."""
        ...

    async def get(self, tenant: str, response_id: str) -> StoredResponse | None:
        """The response, or None when unknown, deleted or expired."""
        ...

    async def chain(self, tenant: str, response_id: str) -> list[StoredResponse]:
        """The response and its ancestors, oldest first, in O(1) round trips; empty when not found."""
        ...

    async def find_items(self, tenant: str, item_ids: Sequence[str]) -> dict[str, ContextItem]:
        """Stored input or output items by id (for ``item_reference``); unknown ids are left out."""
        ...

    async def delete(self, tenant: str, response_id: str) -> None:
        """Delete (and its stream events); ``NotFoundError`` if absent, ``InvalidRequestError`` if in flight."""
        ...

    async def claim(
        self, record: StoredResponse, guard: Guard, *, now: float, response: Response, failures: int = 0
    ) -> StoredResponse | None:
        """Make ``record`` ``in_progress`` under a new attempt (with ``failures`` failed runs before it) if ``guard``
        holds; None when another writer won."""
        ...

    async def heartbeat(
        self, tenant: str, response_id: str, attempt: int, *, now: float, snapshot: Response | None
    ) -> bool:
        """Prove ``attempt`` alive (and store its partial output); False once it no longer owns an in-progress
        response: cancelled, or taken over."""
        ...

    async def release(self, tenant: str, response_id: str, attempt: int, *, failed: bool) -> None:
        """Give up ownership at once (heartbeat 0) so the next delivery takes the job over without waiting;
        ``failed`` counts the run as a failure (it raised) rather than one that waits to be retried."""
        ...

    async def settle(self, record: StoredResponse, guard: Guard, events: Sequence[StreamEvent] = ()) -> bool:
        """Replace the record (a new status) and append ``events`` to its attempt, atomically, if ``guard``
        holds; False when it did not (another terminal write won)."""
        ...


@dataclass(frozen=True)
class StoredConversation:
    """A conversation's own fields (its items are stored beside it, one per position)."""

    tenant: str
    id: str
    created_at: int
    metadata: dict[str, str]


class ConversationStore(Protocol):
    """Conversations and their items by tenant and id, oldest item first; no expiry (see store/conversations.py)."""

    async def create(self, record: StoredConversation, items: Sequence[ContextItem]) -> None: ...

    async def get(self, tenant: str, conversation_id: str) -> StoredConversation | None: ...

    async def load(self, tenant: str, conversation_id: str) -> tuple[StoredConversation, list[ContextItem]] | None:
        """The conversation and every item, oldest first, in one Query (paginated only past 1 MB)."""
        ...

    async def find(
        self, tenant: str, conversation_id: str, item_id: str
    ) -> tuple[StoredConversation, ContextItem | None] | None:
        """The conversation and one of its items (None when it has no such item); None when no conversation."""
        ...

    async def update(
        self, tenant: str, conversation_id: str, metadata: dict[str, str]
    ) -> StoredConversation | None: ...

    async def append(self, tenant: str, conversation_id: str, items: Sequence[ContextItem]) -> bool:
        """Add ``items`` at the end, in order, atomically against other appends and a delete; False (nothing
        written) when the conversation does not exist (or was deleted meanwhile)."""
        ...

    async def delete(self, tenant: str, conversation_id: str) -> bool:
        """Delete the conversation and all its items; False when it did not exist."""
        ...

    async def delete_item(self, tenant: str, conversation_id: str, item_id: str) -> bool:
        """False when the conversation has no such item."""
        ...


class EventLog(Protocol):
    """The stream events of background responses, per attempt, in sequence order."""

    async def append(
        self, tenant: str, response_id: str, attempt: int, events: Sequence[StreamEvent], expires_at: int
    ) -> None: ...

    async def read(self, tenant: str, response_id: str, attempt: int, after: int) -> list[StreamEvent]:
        """Events of ``attempt`` with ``sequence_number > after``, in order."""
        ...

    async def last_sequence(self, tenant: str, response_id: str, attempt: int) -> int:
        """The highest stored sequence number of ``attempt``; -1 when it has none."""
        ...


class BackgroundJob(BaseModel):
    """Run (or finish) the background response ``response_id`` of ``tenant``: the jobs-queue message body.

    Only the address of the work travels: the request itself waits in DynamoDB with the queued response, so a
    message is small, carries no prompt, and a redelivered one finds the response's current state."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    tenant: str
    response_id: str

    def body(self) -> str:
        return self.model_dump_json()


class JobQueue(Protocol):
    async def enqueue(self, job: BackgroundJob) -> None:
        """Hand ``job`` to the workers; raises if the queue did not accept it."""
        ...


class MessageVisibility(Protocol):
    async def change_visibility(self, receipt_handle: str, seconds: int) -> bool:
        """Hide the received message for ``seconds`` from now (0: visible at once); False when the queue no longer
        takes this handle (the message was received again since, or deleted)."""
        ...
