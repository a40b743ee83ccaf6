"""The background worker: what one delivery of a job does, whatever happened to earlier deliveries.

    record terminal, deleted or expired ................ done: the message may go (a duplicate delivery)
    in_progress, heartbeat fresh ....................... keep the message, hidden until the owner's lease could
                                                         have run out: if the owner dies, it may be the only one
    failed runs >= max_failures ........................ fail it, without running
    delivery number >= max_receives .................... fail it, without running: SQS's last delivery before
                                                         the dead-letter queue (which has no consumer)
    tenant already runs max_running_per_tenant jobs .... keep the message, hidden for a short, growing delay
    queued, or in_progress with a stale heartbeat ...... claim it as a new attempt and run it, keeping the
                                                         message hidden from the heartbeat (``domain/holds.py``)

Failed runs are counted in DynamoDB (``StoredResponse.failures``: a run whose worker died, found by the takeover,
or a run that raised), not from SQS's receive count, which grows with every wait above as well. A run that
raises is released for a retry a few seconds later, except when it used the last allowed failure or delivery:
then it is failed at once. An upstream 429 releases the job without counting a failure and retries it after the
upstream's ``Retry-After``. Every write is conditional (``Guard``), so racing deliveries, cancels and takeovers
resolve to one winner.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from gateway.domain.attempt import Attempt
from gateway.domain.builder import ResponseBuilder, public_view
from gateway.domain.failure import response_error
from gateway.domain.holds import Keepalive, Message, Slot, TenantSlots, hold_seconds
from gateway.domain.lifecycle import close_partial, queued_shell
from gateway.domain.ports import (
    BackgroundJob,
    EventLog,
    Guard,
    MessageVisibility,
    ResponseStore,
    StoredResponse,
)
from gateway.domain.retry import RetryLater, ThrottleAware
from gateway.domain.service import ResponsesService
from gateway.domain.status import TERMINAL, can_move
from gateway.domain.upstream import ProviderResolver
from gateway.errors import GatewayError
from gateway.log_scope import bind
from gateway.schemas.events import ResponseLifecycleEvent, StreamEvent
from gateway.schemas.responses import ResponseError

logger = logging.getLogger("gateway.worker")
_MAX_WAIT_SECONDS = 60.0
"""Longest wait for a tenant slot between two deliveries."""


class Outcome(Enum):
    DONE = "done"
    """The message may be deleted: the job has ended, or ends nowhere else."""
    RETRY = "retry"
    """Leave the message for redelivery (reported as a batch item failure), hidden for as long as it was set."""


@dataclass(frozen=True)
class WorkerConfig:
    max_receives: int = 100
    max_failures: int = 2
    lease_seconds: float = 60.0
    heartbeat_seconds: float = 2.0
    flush_seconds: float = 0.3
    ttl_days: int = 30
    requeue_seconds: float = 5.0
    max_running_per_tenant: int = 0


class BackgroundWorker:
    def __init__(
        self,
        service: ResponsesService,
        store: ResponseStore,
        log: EventLog,
        providers: ProviderResolver,
        config: WorkerConfig,
        *,
        queue: MessageVisibility | None = None,
        slots: TenantSlots | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``service`` is the engine the API runs too (``composition.py``); the worker resumes runs through it."""
        self._store = store
        self._log = log
        self._providers = providers
        self._service = service
        self._config = config
        self._queue = queue
        self._slots = slots if config.max_running_per_tenant > 0 else None
        self._clock = clock

    async def aclose(self) -> None:
        await self._providers.aclose()

    async def process(self, job: BackgroundJob, receive_count: int, receipt_handle: str | None = None) -> Outcome:
        config = self._config
        message = Message(self._queue, receipt_handle)
        record = await self._store.get(job.tenant, job.response_id)
        if record is None or not record.background or record.status in TERMINAL:
            return Outcome.DONE
        now = self._clock()
        stale_before = now - config.lease_seconds
        if record.status == "in_progress" and record.heartbeat_at >= stale_before:
            if receive_count >= config.max_receives:  # rare: the run's own renewals must have failed for long
                logger.error("background job %s: its message goes to the dead-letter queue while it runs", record.id)
            await message.hide(record.heartbeat_at - stale_before + 1)
            return Outcome.RETRY
        if record.status == "queued":
            guard = Guard(frozenset({"queued"}), attempt=record.attempt)
            failures = record.failures
        else:  # its owner died (heartbeat stale), or released it (heartbeat 0, already counted)
            guard = Guard(frozenset({"in_progress"}), attempt=record.attempt, stale_before=stale_before)
            failures = record.failures + (1 if record.heartbeat_at > 0 else 0)
        reason = None
        if failures >= config.max_failures:
            reason = f"its worker failed {_times(failures)}"
        elif receive_count >= config.max_receives:
            reason = f"it was delivered {_times(receive_count)} without finishing"
        if reason is not None:
            if await self._give_up(record, guard, reason):
                return Outcome.DONE
            # Lost: a cancel, or an owner thought dead that wrote a heartbeat after all. Look again later.
            await message.hide(config.lease_seconds)
            return Outcome.RETRY
        slot: Slot | None = None
        if self._slots is not None:
            slot = await self._take_slot(self._slots, record, now)
            if slot is None:
                await message.hide(min(config.requeue_seconds * receive_count, _MAX_WAIT_SECONDS))
                return Outcome.RETRY
        keepalive = Keepalive(message, self._slots, slot, lease_seconds=config.lease_seconds)
        in_progress = queued_shell(record.response).model_copy(update={"status": "in_progress"})
        claimed = await self._store.claim(record, guard, now=now, response=in_progress, failures=failures)
        if claimed is None:  # another delivery, or a cancel, got there first: look again once a takeover could be due
            await keepalive.release()
            await message.hide(config.lease_seconds)
            return Outcome.RETRY
        try:
            return await self._attempt(claimed, keepalive, message, receive_count)
        finally:
            await keepalive.release()

    async def _take_slot(self, slots: TenantSlots, record: StoredResponse, now: float) -> Slot | None:
        """A slot of the tenant for the attempt about to start, or None when the tenant has none free."""
        holder = f"{record.id}#{record.attempt + 1}"
        limit = self._config.max_running_per_tenant
        until = now + hold_seconds(self._config.lease_seconds)
        index = await slots.acquire(record.tenant, holder, limit=limit, now=now, until=until)
        return None if index is None else Slot(record.tenant, index, holder)

    async def _attempt(self, claimed: StoredResponse, keepalive: Keepalive, message: Message, receives: int) -> Outcome:
        config = self._config
        bind(attempt=claimed.attempt)
        await keepalive.renew(self._clock())
        attempt = Attempt(
            self._store,
            self._log,
            claimed,
            flush_seconds=config.flush_seconds,
            heartbeat_seconds=config.heartbeat_seconds,
            clock=self._clock,
            on_beat=keepalive.renew,
        )
        try:
            await self._run(attempt)
        except RetryLater as wait:
            logger.info("background response %s: the upstream asked to wait %.0f s", claimed.id, wait.seconds)
            await self._store.release(claimed.tenant, claimed.id, claimed.attempt, failed=False)
            await message.hide(wait.seconds)
            return Outcome.RETRY
        except Exception:
            logger.exception("background response %s, attempt %d failed", claimed.id, claimed.attempt)
            failures = claimed.failures + 1
            if failures >= config.max_failures or receives >= config.max_receives - 1:
                await self._give_up(claimed, attempt.guard, f"its worker failed {_times(failures)}")
                return Outcome.DONE
            await self._store.release(claimed.tenant, claimed.id, claimed.attempt, failed=True)
            await message.hide(config.requeue_seconds)
            return Outcome.RETRY
        return Outcome.DONE

    async def _run(self, attempt: Attempt) -> None:
        try:
            run = await self._service.resume(attempt.record, settle=attempt.settle)
        except GatewayError as exc:  # e.g. its previous response was deleted meanwhile: it can never run
            failure = response_error(exc)
            await self._fail(attempt.record, attempt.guard, failure.code, failure.message)
            return
        run.provider = ThrottleAware(run.provider, default_seconds=self._config.requeue_seconds)
        await attempt.drive(run)

    async def _give_up(self, record: StoredResponse, guard: Guard, reason: str) -> bool:
        message = f"The background job could not be completed: {reason}."
        return await self._fail(record, guard, "server_error", message)

    async def _fail(self, record: StoredResponse, guard: Guard, code: str, message: str) -> bool:
        """End ``record`` failed, appending ``response.failed`` to its live attempt's events (after whatever
        that attempt managed to write) so replays end like any other failed run. False if ``guard`` no longer held."""
        assert can_move(record.status, "failed")
        final = close_partial(record.response, "failed", ResponseError(code=code, message=message))
        events: list[StreamEvent] = []
        if record.stream:
            next_seq = await self._log.last_sequence(record.tenant, record.id, record.attempt) + 1
            opening = ResponseBuilder(queued_shell(record.response), record.thread).start()
            events = [event for event in opening if event.sequence_number >= next_seq]
            events.append(
                ResponseLifecycleEvent(
                    type="response.failed",
                    sequence_number=max(next_seq, len(opening)),
                    response=public_view(final, reveal=False),
                )
            )
        failed = dataclasses.replace(record, status="failed", response=final)
        return await self._store.settle(failed, guard, events)


def _times(count: int) -> str:
    return f"{count} time" if count == 1 else f"{count} times"
