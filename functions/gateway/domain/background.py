"""The background worker: what one delivery of a job does, whatever happened to earlier deliveries.

    record terminal, deleted or expired ........................ nothing (a duplicate delivery)
    in_progress, heartbeat fresh ............................... nothing: a live worker owns it (and its message)
    delivery number >= max_receives ............................ fail it, without running: the last delivery is
                                                                 kept for this, so a job that keeps killing its
                                                                 worker still ends (the DLQ has no consumer)
    queued, or in_progress with a stale heartbeat (dead worker)  claim it as a new attempt and run it

A run that raises is released for the next delivery (retry), except on the last delivery that may run, where it
is failed at once rather than a visibility timeout later. Every write is conditional (``Guard``), so racing
deliveries, cancels and takeovers resolve to one winner.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from gateway.domain.attempt import Attempt
from gateway.domain.builder import ResponseBuilder, public_view
from gateway.domain.partial import close_partial, queued_shell
from gateway.domain.run import io
from gateway.domain.service import ResponsesService
from gateway.domain.status import TERMINAL, can_move
from gateway.errors import GatewayError
from gateway.providers.registry import ProviderRegistry
from gateway.queue.messages import BackgroundJob, deliveries
from gateway.schemas.events import ResponseLifecycleEvent, StreamEvent
from gateway.schemas.responses import ResponseError
from gateway.store.base import EventLog, Guard, ResponseStore, StoredResponse

logger = logging.getLogger("gateway.worker")


class Outcome(Enum):
    DONE = "done"
    """The message may be deleted: the job finished, or needs nothing from this delivery."""
    RETRY = "retry"
    """Leave the message for redelivery (reported as a batch item failure)."""


@dataclass(frozen=True)
class WorkerConfig:
    max_receives: int = 3
    lease_seconds: float = 60.0
    heartbeat_seconds: float = 2.0
    flush_seconds: float = 0.3
    ttl_days: int = 30


class BackgroundWorker:
    def __init__(
        self,
        store: ResponseStore,
        log: EventLog,
        providers: ProviderRegistry,
        config: WorkerConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._log = log
        self._providers = providers
        self._service = ResponsesService(store, providers, ttl_days=config.ttl_days)
        self._config = config
        self._clock = clock

    async def aclose(self) -> None:
        await self._providers.aclose()

    async def handle_batch(self, event: dict[str, Any]) -> dict[str, Any]:
        """An SQS event in, the partial batch response out: only failed records are redelivered."""
        failures: list[dict[str, str]] = []
        for delivery in deliveries(event):
            if isinstance(delivery, str):
                logger.error("dropping SQS message %s: its body is not a background job", delivery)
                continue
            try:
                outcome = await self.process(delivery.job, delivery.receive_count)
            except Exception:
                logger.exception("background job %s failed", delivery.job.response_id)
                outcome = Outcome.RETRY
            if outcome is Outcome.RETRY:
                failures.append({"itemIdentifier": delivery.message_id})
        return {"batchItemFailures": failures}

    async def process(self, job: BackgroundJob, receive_count: int) -> Outcome:
        record = await io(self._store.get, job.tenant, job.response_id)
        if record is None or not record.background or record.status in TERMINAL:
            return Outcome.DONE
        now = self._clock()
        stale_before = now - self._config.lease_seconds
        if record.status == "in_progress" and record.heartbeat_at >= stale_before:
            return Outcome.DONE
        if record.status == "queued":
            guard = Guard(frozenset({"queued"}), attempt=record.attempt)
        else:
            guard = Guard(frozenset({"in_progress"}), attempt=record.attempt, stale_before=stale_before)
        if receive_count >= self._config.max_receives:
            await self._give_up(record, guard, receive_count - 1)
            return Outcome.DONE
        in_progress = queued_shell(record.response).model_copy(update={"status": "in_progress"})
        claimed = await io(self._store.claim, record, guard, now=now, response_json=in_progress.model_dump_json())
        if claimed is None:  # another delivery, or a cancel, got there first
            return Outcome.DONE
        attempt = Attempt(
            self._store,
            self._log,
            claimed,
            flush_seconds=self._config.flush_seconds,
            heartbeat_seconds=self._config.heartbeat_seconds,
            clock=self._clock,
        )
        try:
            await self._run(attempt)
        except Exception:
            logger.exception("background response %s, attempt %d failed", claimed.id, claimed.attempt)
            if receive_count >= self._config.max_receives - 1:
                await self._give_up(claimed, attempt.guard, receive_count)
                return Outcome.DONE
            await io(self._store.release, claimed.tenant, claimed.id, claimed.attempt)
            return Outcome.RETRY
        return Outcome.DONE

    async def _run(self, attempt: Attempt) -> None:
        try:
            run = await self._service.resume(attempt.record, settle=attempt.settle)
        except GatewayError as exc:  # e.g. its previous response was deleted meanwhile: it can never run
            await self._fail(attempt.record, attempt.guard, exc.code or "server_error", exc.message)
            return
        await attempt.drive(run)

    async def _give_up(self, record: StoredResponse, guard: Guard, failures: int) -> None:
        message = f"The background job could not be completed: its worker failed {failures} times."
        await self._fail(record, guard, "server_error", message)

    async def _fail(self, record: StoredResponse, guard: Guard, code: str, message: str) -> None:
        """End ``record`` failed, appending ``response.failed`` to its live attempt's events (after whatever
        that attempt managed to write) so replays end like any other failed run."""
        assert can_move(record.status, "failed")
        final = close_partial(record.response, "failed", ResponseError(code=code, message=message))
        events: list[StreamEvent] = []
        if record.stream:
            next_seq = await io(self._log.last_sequence, record.tenant, record.id, record.attempt) + 1
            opening = ResponseBuilder(queued_shell(record.response), record.thread).start()
            events = [event for event in opening if event.sequence_number >= next_seq]
            events.append(
                ResponseLifecycleEvent(
                    type="response.failed",
                    sequence_number=max(next_seq, len(opening)),
                    response=public_view(final, reveal=False),
                )
            )
        failed = dataclasses.replace(record, status="failed", response_json=final.model_dump_json())
        await io(self._store.settle, failed, guard, events)
