"""A WebSocket connection's own responses, in front of the stored ones: ``store: false`` continuation.

Over WebSocket, ``previous_response_id`` may name a response created on the same connection with
``store: false``: it exists nowhere but here (Open Responses, "WebSocket Continuation"). ``ConnectionCache`` is a
``ResponseStore`` the engine reads through for one connection (``ResponsesService.reading_through``): a chain it
holds is answered from memory, anything else from the real store, and every write goes to the real store.

Each entry is a whole lineage (the response and its ancestors, oldest first), so evicting a parent after a failed
continuation never breaks the chains of its other children. The cache is bounded (least recently used out) and
dies with the connection: reconnecting loses ``store: false`` state, as the spec says it must.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.domain.ports import Guard, ResponseStore, StoredResponse
from gateway.schemas.events import StreamEvent
from gateway.schemas.responses import Response
from gateway.schemas.tool_items import ContextItem

CACHED_RESPONSES = 64
"""Lineages kept per connection; a client continues from one of its latest responses."""


@dataclass(frozen=True)
class CacheEntry:
    lineage: list[StoredResponse]
    lane: str | None
    """The lane that created it; None for one read from the store (any lane's failure may evict that)."""
    owned: bool


class ConnectionCache:
    """``ResponseStore`` for one connection of ``tenant``: its cached lineages, then ``inner``."""

    def __init__(self, inner: ResponseStore, tenant: str, *, limit: int = CACHED_RESPONSES) -> None:
        self._inner = inner
        self._tenant = tenant
        self._limit = limit
        self._entries: OrderedDict[str, CacheEntry] = OrderedDict()

    def lineage(self, response_id: str | None) -> list[StoredResponse]:
        """The cached chain ending at ``response_id`` (empty when it is not cached)."""
        entry = self._entries.get(response_id) if response_id is not None else None
        return list(entry.lineage) if entry is not None else []

    def remember(self, record: StoredResponse, parents: list[StoredResponse], lane: str | None) -> None:
        """Keep ``record`` (after ``parents``, its lineage when it was prepared) for continuations on this
        connection."""
        self._keep(record.id, CacheEntry([*parents, record], lane, owned=True))

    def evict(self, response_id: str | None, lane: str | None) -> None:
        """A continuation from ``response_id`` failed on ``lane``: forget the parent, unless another lane created
        it (an errored fork leaves the source lane's parent alone)."""
        entry = self._entries.get(response_id) if response_id is not None else None
        if entry is not None and response_id is not None and (not entry.owned or entry.lane == lane):
            del self._entries[response_id]

    def _keep(self, response_id: str, entry: CacheEntry) -> None:
        self._entries[response_id] = entry
        self._entries.move_to_end(response_id)
        while len(self._entries) > self._limit:
            self._entries.popitem(last=False)

    def _mine(self, tenant: str) -> bool:
        return tenant == self._tenant

    # -- ResponseStore: reads look here first ---------------------------------------------------------------

    async def chain(self, tenant: str, response_id: str) -> list[StoredResponse]:
        entry = self._entries.get(response_id) if self._mine(tenant) else None
        if entry is not None:
            self._entries.move_to_end(response_id)
            return list(entry.lineage)
        lineage = await self._inner.chain(tenant, response_id)
        if self._mine(tenant) and lineage and lineage[-1].id == response_id:
            self._keep(response_id, CacheEntry(lineage, None, owned=False))
        return lineage

    async def get(self, tenant: str, response_id: str) -> StoredResponse | None:
        entry = self._entries.get(response_id) if self._mine(tenant) else None
        return entry.lineage[-1] if entry is not None else await self._inner.get(tenant, response_id)

    async def find_items(self, tenant: str, item_ids: Sequence[str]) -> dict[str, ContextItem]:
        wanted = set(item_ids)
        found: dict[str, ContextItem] = {}
        if self._mine(tenant):
            for entry in self._entries.values():
                for item in (item for record in entry.lineage for item in record.context_items()):
                    if item.id is not None and item.id in wanted:
                        found[item.id] = item
        missing = [item_id for item_id in item_ids if item_id not in found]
        if missing:
            found.update(await self._inner.find_items(tenant, missing))
        return found

    # -- ResponseStore: everything else is the real store's -------------------------------------------------

    async def put(self, record: StoredResponse) -> None:
        await self._inner.put(record)

    async def delete(self, tenant: str, response_id: str) -> None:
        await self._inner.delete(tenant, response_id)

    async def claim(
        self, record: StoredResponse, guard: Guard, *, now: float, response: Response, failures: int = 0
    ) -> StoredResponse | None:
        return await self._inner.claim(record, guard, now=now, response=response, failures=failures)

    async def heartbeat(
        self, tenant: str, response_id: str, attempt: int, *, now: float, snapshot: Response | None
    ) -> bool:
        return await self._inner.heartbeat(tenant, response_id, attempt, now=now, snapshot=snapshot)

    async def release(self, tenant: str, response_id: str, attempt: int, *, failed: bool) -> None:
        await self._inner.release(tenant, response_id, attempt, failed=failed)

    async def settle(self, record: StoredResponse, guard: Guard, events: Sequence[StreamEvent] = ()) -> bool:
        return await self._inner.settle(record, guard, events)
