"""One ``response.create`` over WebSocket: the create route's path (prepare, meter, open, ``Run.events``), with its
events and errors sent as frames, and the connection's cache kept (``api/ws_cache.py``).

``generate: false`` (a prewarm, which Codex sends first) is the same run with a provider that finishes at once:
validated, stored (or cached), and answered ``response.created`` + ``response.completed``, without calling the
model. Its id then carries the prewarmed input for the next turn's ``previous_response_id``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from gateway.api.ws_cache import ConnectionCache
from gateway.api.ws_frames import Create, error_frame, event_frame
from gateway.domain.limits import Principal, Reservation
from gateway.domain.metering import Metering
from gateway.domain.ports import StoredResponse
from gateway.domain.run import Run
from gateway.domain.service import ResponsesService
from gateway.domain.upstream import Finish, ModelRequest, ProviderEvent
from gateway.errors import GatewayError, UpstreamError
from gateway.schemas.responses import Response

Send = Callable[[str], Awaitable[None]]
FAILED = "response.failed"
SKIPPED_BY_PREWARM = frozenset({"response.in_progress"})
"""A prewarm answers ``response.created`` and ``response.completed`` only."""


@dataclass
class Turns:
    """What every turn of one connection shares: its tenant's engine, read through the connection's cache."""

    responses: ResponsesService
    cache: ConnectionCache
    tenant: str
    principal: Principal
    ttl_seconds: int

    @classmethod
    def of(cls, responses: ResponsesService, tenant: str, principal: Principal, ttl_days: int) -> Turns:
        scoped, cache = responses.reading_through(lambda store: ConnectionCache(store, tenant))
        return cls(scoped, cache, tenant, principal, ttl_days * 86_400)

    async def run(self, create: Create, lane: str | None, send: Send) -> None:
        """Answer one create on ``lane``: its events, or one error frame. A failed continuation (refused, or
        ended ``response.failed``) evicts its parent from the cache, as Open Responses requires."""
        params = create.params
        try:
            run = await self.responses.prepare(self.tenant, params)
            failure = await self._start(run, create)
        except GatewayError as exc:
            self.cache.evict(params.previous_response_id, lane)
            await send(error_frame(exc, lane))
            return
        self._remember(run, lane)
        events = run.events(failure)
        try:
            async for event in events:
                if create.generate or event.type not in SKIPPED_BY_PREWARM:
                    if event.type == FAILED:
                        self.cache.evict(params.previous_response_id, lane)
                    await send(event_frame(event, lane))
        finally:
            if isinstance(events, AsyncGenerator):
                await events.aclose()
            await run.aclose()

    async def _start(self, run: Run, create: Create) -> UpstreamError | None:
        """Meter and open the model call as the create route does: an upstream failure is returned (the run
        ends ``response.failed``), a refusal raised, giving back what was reserved."""
        if not create.generate:
            run.provider = _Prewarm()
            return None
        metering: Metering = self.responses.metering
        reservation: Reservation = await metering.admit(run, self.principal, create.size)
        try:
            await run.open()
        except UpstreamError as exc:
            return exc
        except GatewayError:
            await metering.release(reservation)
            raise
        return None

    def _remember(self, run: Run, lane: str | None) -> None:
        """Cache the response once stored (``store: false`` included) unless it failed, with the lineage it was
        prepared from, so this connection can continue it."""
        parents = self.cache.lineage(run.params.previous_response_id)
        stored = run.after_settle

        async def remember(final: Response) -> None:
            if stored is not None:
                await stored(final)
            if final.status != "failed":
                self.cache.remember(self._record(run, final), parents, lane)

        run.after_settle = remember

    def _record(self, run: Run, final: Response) -> StoredResponse:
        # Kept as a stream, whatever the request said: a continuation replays it like one.
        return dataclasses.replace(run.record(final), background=False, stream=True)


class _Prewarm:
    """The provider of a ``generate: false`` run: no model call, the run finishes with no output."""

    name = "prewarm"

    def open(self, request: ModelRequest) -> AbstractAsyncContextManager[AsyncIterator[ProviderEvent]]:
        return _finished()

    async def aclose(self) -> None:
        return None


@asynccontextmanager
async def _finished() -> AsyncIterator[AsyncIterator[ProviderEvent]]:
    yield _stop()


async def _stop() -> AsyncIterator[ProviderEvent]:
    yield Finish("stop")
