"""Background responses on Lambda: the SQS event source (batch size 1, ``ReportBatchItemFailures``) calls
``handler``; the reply lists the records to redeliver.

The worker keeps one event loop per thread for the life of the process rather than ``asyncio.run`` per
invocation: the provider registry's pooled ``httpx.AsyncClient`` belongs to the loop it first ran on, and keeping
both means warm invocations reuse upstream connections and the provider secret, as the API function's uvicorn
loop does. (Lambda runs one thread; the local worker loop runs a few, each with its own loop and worker.)
Nothing is built at import: the first invocation builds the clients.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway import snapstart
from gateway.domain.background import BackgroundWorker, Outcome, WorkerConfig
from gateway.log_scope import log_scope
from gateway.queue.messages import deliveries
from gateway.settings import Settings, get_settings

logger = logging.getLogger("gateway.worker")
snapstart.register()

if TYPE_CHECKING:
    from gateway.providers.registry import ProviderRegistry


@dataclass
class WorkerRuntime:
    """A worker and the event loop it runs on."""

    worker: BackgroundWorker
    loop: asyncio.AbstractEventLoop

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.loop.run_until_complete(handle_batch(self.worker, event))

    def close(self) -> None:
        self.loop.run_until_complete(self.worker.aclose())
        self.loop.close()


def build_worker(
    settings: Settings, *, providers: ProviderRegistry | None = None, clock: Callable[[], float] = time.time
) -> BackgroundWorker:
    """The engine the API runs (``composition.py``), with what only the worker needs: its limits and slots.
    Imported here rather than at module import to keep cold start lean."""
    from gateway.composition import build_engine
    from gateway.store.slots import DynamoTenantSlots
    from gateway.store.threaded import ThreadedEventLog, ThreadedResponseStore, ThreadedTenantSlots

    engine = build_engine(settings, providers=providers)
    return BackgroundWorker(
        engine.responses,
        ThreadedResponseStore(engine.storage.responses),
        ThreadedEventLog(engine.storage.events),
        engine.providers,
        WorkerConfig(
            max_receives=settings.worker_max_receives,
            max_failures=settings.worker_max_failures,
            lease_seconds=settings.worker_lease_seconds,
            heartbeat_seconds=settings.worker_heartbeat_seconds,
            flush_seconds=settings.event_flush_seconds,
            ttl_days=settings.ttl_days,
            requeue_seconds=settings.worker_requeue_seconds,
            max_running_per_tenant=settings.max_running_per_tenant,
        ),
        queue=engine.queue,  # to hold each delivery's message (ChangeMessageVisibility)
        slots=ThreadedTenantSlots(DynamoTenantSlots(settings.table_name, engine.storage.dynamodb)),
        clock=clock,
    )


async def handle_batch(worker: BackgroundWorker, event: dict[str, Any]) -> dict[str, Any]:
    """An SQS event in, the partial batch response out: only failed records are redelivered."""
    failures: list[dict[str, str]] = []
    for delivery in deliveries(event):
        if isinstance(delivery, str):
            logger.error("dropping SQS message %s: its body is not a background job", delivery)
            continue
        job = delivery.job
        with log_scope(response_id=job.response_id, tenant=job.tenant, delivery=delivery.receive_count):
            try:
                outcome = await worker.process(job, delivery.receive_count, delivery.receipt_handle)
            except Exception:
                logger.exception("background job %s failed", job.response_id)
                outcome = Outcome.RETRY
        if outcome is Outcome.RETRY:
            failures.append({"itemIdentifier": delivery.message_id})
    return {"batchItemFailures": failures}


_local = threading.local()


def runtime() -> WorkerRuntime:
    """This thread's worker, built on first use."""
    current: WorkerRuntime | None = getattr(_local, "runtime", None)
    if current is None:
        current = _local.runtime = WorkerRuntime(build_worker(get_settings()), asyncio.new_event_loop())
    return current


def reset() -> None:
    """Forget this thread's worker (tests: the next invocation is a cold start with fresh settings)."""
    current: WorkerRuntime | None = getattr(_local, "runtime", None)
    if current is not None:
        current.close()
    _local.runtime = None


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    return runtime().handle(event)
