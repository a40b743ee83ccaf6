"""``Attempt``: one claimed run of a background response, writing its progress as it goes.

The run's events are buffered and written every ``flush_seconds`` (a small BatchWriteItem), each flush followed
by a conditional heartbeat that also stores the output so far (the run's ``snapshot``). The heartbeat is the
cancellation check: it only succeeds while the response is ``in_progress`` under this attempt, so a cancel (or a
takeover) makes it fail, and the run is stopped, which closes the upstream connection. While the upstream is
silent the heartbeat still goes out every ``heartbeat_seconds``, so a live run is never mistaken for a dead one;
``on_beat`` follows each successful one (the worker renews the job's message and tenant slot there).

The final state and the terminal event are written together, conditionally (``ResponseStore.settle``): if a
cancel got there first, neither is written and the cancel stands.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence

from gateway.domain.ports import EventLog, Guard, ResponseStore, StoredResponse
from gateway.domain.run import Run
from gateway.schemas.events import StreamEvent
from gateway.schemas.responses import Response


class SupersededError(Exception):
    """This attempt no longer owns the response: it was cancelled, or another attempt took it over."""


class Attempt:
    def __init__(
        self,
        store: ResponseStore,
        log: EventLog,
        record: StoredResponse,
        *,
        flush_seconds: float,
        heartbeat_seconds: float,
        clock: Callable[[], float] = time.time,
        on_beat: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.record = record
        self._store = store
        self._log = log
        self._flush_seconds = flush_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._clock = clock
        self._run: Run | None = None
        self._pending: list[StreamEvent] = []
        self._changed = False
        self._lock = asyncio.Lock()
        self._last_beat = clock()
        self._on_beat = on_beat
        self._settled = False

    @property
    def guard(self) -> Guard:
        """What a write of this attempt expects: the response in progress, still owned by this attempt."""
        return Guard(frozenset({"in_progress"}), attempt=self.record.attempt)

    async def drive(self, run: Run) -> None:
        """Run to the end, flushing as it goes; returns early (upstream closed) once superseded."""
        self._run = run
        task = asyncio.create_task(self._consume(run))
        try:
            while not task.done():
                await asyncio.wait({task}, timeout=self._flush_seconds)
                if not task.done() and not await self._tick():
                    break  # superseded: the cancel (or the new owner) has the last word
            else:
                with contextlib.suppress(SupersededError):
                    task.result()
        finally:
            if not task.done():
                task.cancel()  # unwinds the run, whose provider stream closes the upstream connection
                await asyncio.gather(task, return_exceptions=True)

    async def settle(self, final: Response, terminal: Sequence[StreamEvent]) -> None:
        """``Run.settle``: the last events, then the terminal status and event in one conditional write."""
        async with self._lock:
            self._settled = True
            await self._write_pending()
            record = dataclasses.replace(self.record, status=final.status, response=final, heartbeat_at=self._clock())
            events = terminal if self.record.stream else ()
            if not await self._store.settle(record, self.guard, events):
                raise SupersededError(self.record.id)

    async def _consume(self, run: Run) -> None:
        async for event in run.events():
            if not self._settled:
                self._pending.append(event)
                self._changed = True

    async def _tick(self) -> bool:
        """Flush if there is something to write or a heartbeat is due; False once superseded."""
        async with self._lock:
            if self._settled:
                return True
            now = self._clock()
            if not self._pending and now - self._last_beat < self._heartbeat_seconds:
                return True
            await self._write_pending()
            partial = self._snapshot() if self._changed else None
            self._last_beat = now
            alive = await self._store.heartbeat(
                self.record.tenant,
                self.record.id,
                self.record.attempt,
                now=now,
                snapshot=partial,
            )
            if alive and self._on_beat is not None:
                await self._on_beat(now)
            return alive

    def _snapshot(self) -> Response | None:
        """The run's output so far (``Run.snapshot``), stored with the heartbeat so a poll shows it growing."""
        self._changed = False
        return self._run.snapshot() if self._run is not None else None

    async def _write_pending(self) -> None:
        events, self._pending = self._pending, []
        if events and self.record.stream:
            record = self.record
            await self._log.append(record.tenant, record.id, record.attempt, events, record.expires_at)
