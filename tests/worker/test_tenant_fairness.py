"""One tenant's stuck background jobs do not hold back another tenant's (issue 11, fault probe 4(4)): at most
``max_running_per_tenant`` jobs of a tenant run at once; the others wait in the queue, briefly hidden, without
taking a worker or counting as failures."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest

from gateway.dev.worker import worker_loop
from gateway.handlers.worker import WorkerRuntime
from gateway.store.slots import DynamoTenantSlots
from tests.background import REGION, Background, background
from tests.conftest import TABLE, AppFactory
from tests.fakes.upstream import FakeUpstream, Json, Reply, echo, text_reply

__all__ = ["background"]
KEYS = {"alpha": "sk-alpha-0123456789", "beta": "sk-beta-0123456789"}


def _stuck_or_quick(body: Json) -> Reply:
    if "stuck" in body["messages"][-1]["content"]:
        return text_reply(*["still thinking "] * 100, delay=0.1)  # 10 s: a stalled upstream
    return echo(body)


@pytest.fixture
def atomic_slot_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies a conditional write atomically; moto, across threads, does not (two workers can both
    see a slot free and both take it), so slot writes are serialized here as DynamoDB serializes them."""
    lock = threading.Lock()
    write = DynamoTenantSlots._write

    def serialized(self: DynamoTenantSlots, *args: Any) -> bool:
        with lock:
            return write(self, *args)

    monkeypatch.setattr(DynamoTenantSlots, "_write", serialized)


@pytest.mark.usefixtures("atomic_slot_writes")
def test_a_tenants_stuck_jobs_do_not_delay_another_tenants_job(
    background: Background, make_client: AppFactory, upstream: FakeUpstream
) -> None:
    # Given a tenant with three jobs stuck on a stalled upstream, queued before another tenant's job
    client = make_client(**background.settings_overrides, api_keys=",".join(f"{t}:{k}" for t, k in KEYS.items()))
    upstream.will(*[_stuck_or_quick] * 10)

    def create(tenant: str, text: str) -> str:
        reply = client.post(
            "/v1/responses",
            json={"model": "gpt-4o", "input": text, "background": True},
            headers={"authorization": f"Bearer {KEYS[tenant]}"},
        )
        assert reply.status_code == 200, reply.text
        response_id: str = reply.json()["id"]
        return response_id

    stuck = [create("alpha", f"stuck {n}") for n in range(3)]
    quick = create("beta", "quick")

    # When two workers take jobs from the queue, with at most one running job per tenant
    settings = {"max_running_per_tenant": 1, "worker_requeue_seconds": 0.5, "worker_lease_seconds": 5.0}
    local = threading.local()
    runtimes: list[WorkerRuntime] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        runtime: WorkerRuntime | None = getattr(local, "runtime", None)
        if runtime is None:
            runtime = local.runtime = background.runtime(**settings)
            runtimes.append(runtime)
        return runtime.handle(event)

    sqs = boto3.client("sqs", region_name=REGION)
    with worker_loop(sqs, background.queue_url, handler, region=REGION, consumers=2, wait_seconds=1) as workers:
        started = time.monotonic()
        # Then the other tenant's job completes at once, while the stuck tenant has one job running
        background.wait_for(lambda: _status("beta", quick) == "completed", timeout=5)
        assert time.monotonic() - started < 5
        assert sorted(_status("alpha", response_id) for response_id in stuck) == [
            "in_progress",
            "queued",
            "queued",
        ]
        assert all(_failures("alpha", response_id) == 0 for response_id in stuck)  # waiting is not failing
        for response_id in stuck:  # end the stuck runs so the workers are free again
            client.post(f"/v1/responses/{response_id}/cancel", headers={"authorization": f"Bearer {KEYS['alpha']}"})
        background.wait_for(lambda: all(_status("alpha", r) == "cancelled" for r in stuck), timeout=10)
    # no consumer may outlive the test: it would take the next test's jobs from moto's global state
    assert workers.join(timeout=15)
    for runtime in runtimes:
        runtime.close()


def _record(tenant: str, response_id: str) -> Any:
    from gateway.store.dynamodb import DynamoResponseStore

    record = DynamoResponseStore(TABLE, boto3.client("dynamodb", region_name=REGION)).get(tenant, response_id)
    assert record is not None
    return record


def _status(tenant: str, response_id: str) -> str:
    status: str = _record(tenant, response_id).status
    return status


def _failures(tenant: str, response_id: str) -> int:
    failures: int = getattr(_record(tenant, response_id), "failures", 0)
    return failures


@pytest.mark.usefixtures("aws")
def test_a_slot_is_one_holders_until_released_or_its_lease_runs_out() -> None:
    slots = DynamoTenantSlots(TABLE, boto3.client("dynamodb", region_name=REGION))

    first = slots.acquire("t", "resp_a#1", limit=2, now=100.0, until=160.0)
    second = slots.acquire("t", "resp_b#1", limit=2, now=100.0, until=160.0)

    assert {first, second} == {0, 1}
    assert slots.acquire("t", "resp_c#1", limit=2, now=150.0, until=210.0) is None  # full
    assert slots.acquire("other", "resp_d#1", limit=2, now=150.0, until=210.0) is not None  # per tenant
    assert slots.acquire("t", "resp_a#1", limit=2, now=150.0, until=210.0) == first  # its own again
    assert second is not None
    assert slots.renew("t", second, "resp_b#1", until=220.0)
    assert not slots.renew("t", second, "resp_c#1", until=220.0)  # not its slot
    # a crashed holder's slot is taken once its lease has run out; a released one at once
    assert slots.acquire("t", "resp_c#1", limit=2, now=215.0, until=275.0) == first
    slots.release("t", second, "resp_b#1")
    assert slots.acquire("t", "resp_e#1", limit=2, now=216.0, until=276.0) == second
