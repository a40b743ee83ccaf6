"""follow(): replay a background response's stored events, then follow live ones until it ends.

The store and the event log are in-memory fakes of the ports. "Live" is scripted: each time ``follow`` finds no
new events it looks at the record, and the fake store runs the next step of the script first (new events, a new
attempt, a deletion), so the tests are deterministic and never wait on a clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace

import anyio
import pytest

from gateway.domain.ports import EventLog, Guard, ResponseStore, StoredEvent, StoredResponse
from gateway.domain.replay import follow
from gateway.schemas.events import StreamEvent
from gateway.schemas.responses import Response, ResponseStatus
from gateway.schemas.tool_items import ContextItem

pytestmark = pytest.mark.anyio

TENANT, ID = "acme", "resp_1"
POLL = 0.001
Step = Callable[[], None]


class FakeLog(EventLog):
    def __init__(self) -> None:
        self.events: dict[tuple[str, str, int], list[StreamEvent]] = {}

    def add(
        self, tenant: str, response_id: str, attempt: int, events: Sequence[StreamEvent], expires_at: int = 0
    ) -> None:
        self.events.setdefault((tenant, response_id, attempt), []).extend(events)

    async def append(
        self, tenant: str, response_id: str, attempt: int, events: Sequence[StreamEvent], expires_at: int = 0
    ) -> None:
        self.add(tenant, response_id, attempt, events, expires_at)

    async def read(self, tenant: str, response_id: str, attempt: int, after: int) -> list[StreamEvent]:
        return [e for e in self.events.get((tenant, response_id, attempt), []) if e.sequence_number > after]

    async def last_sequence(self, tenant: str, response_id: str, attempt: int) -> int:
        return max((e.sequence_number for e in self.events.get((tenant, response_id, attempt), [])), default=-1)


class FakeStore(ResponseStore):
    """Only ``get`` matters to ``follow``; before answering it runs the next scripted step."""

    def __init__(self, record: StoredResponse, script: Sequence[Step] = ()) -> None:
        self.records: dict[tuple[str, str], StoredResponse] = {(record.tenant, record.id): record}
        self.script = list(script)
        self.gets = 0

    async def get(self, tenant: str, response_id: str) -> StoredResponse | None:
        self.gets += 1
        if self.script:
            self.script.pop(0)()
        return self.records.get((tenant, response_id))

    def update(self, **changes: object) -> None:
        self.records[(TENANT, ID)] = replace(self.records[(TENANT, ID)], **changes)  # type: ignore[arg-type]

    async def put(self, record: StoredResponse) -> None:
        self.records[(record.tenant, record.id)] = record

    def remove(self, tenant: str, response_id: str) -> None:
        del self.records[(tenant, response_id)]

    async def delete(self, tenant: str, response_id: str) -> None:
        self.remove(tenant, response_id)

    async def chain(self, tenant: str, response_id: str) -> list[StoredResponse]:
        raise NotImplementedError

    async def find_items(self, tenant: str, item_ids: Sequence[str]) -> dict[str, ContextItem]:
        raise NotImplementedError

    async def claim(
        self, record: StoredResponse, guard: Guard, *, now: float, response: Response, failures: int = 0
    ) -> None:
        raise NotImplementedError

    async def heartbeat(
        self, tenant: str, response_id: str, attempt: int, *, now: float, snapshot: Response | None
    ) -> bool:
        raise NotImplementedError

    async def release(self, tenant: str, response_id: str, attempt: int, *, failed: bool) -> None:
        raise NotImplementedError

    async def settle(self, record: StoredResponse, guard: Guard, events: Sequence[StreamEvent] = ()) -> bool:
        raise NotImplementedError


def record(status: ResponseStatus = "in_progress", attempt: int = 0, tenant: str = TENANT) -> StoredResponse:
    shell = Response(id=ID, created_at=0, status=status, model="m")
    return StoredResponse(tenant, ID, "t" * 24, None, status, shell, [], 0, background=True, attempt=attempt)


def event(sequence_number: int, kind: str = "response.output_text.delta", attempt: int = 0) -> StreamEvent:
    """A stored event; ``attempt`` is an extra field so a test can tell which attempt an event came from."""
    return StoredEvent(type=kind, sequence_number=sequence_number, attempt=attempt)


def attempt_events(attempt: int, *kinds: str) -> list[StreamEvent]:
    return [event(n, kind, attempt) for n, kind in enumerate(kinds)]


PREFIX = ("response.created", "response.queued")
DELTA = "response.output_text.delta"


async def collect(store: FakeStore, log: FakeLog, after: int = -1) -> list[StreamEvent]:
    start = store.records[(TENANT, ID)]
    with anyio.fail_after(5):  # a follow that misses its end fails the test instead of hanging it
        return [e async for e in follow(store, log, start, after, POLL)]


def numbers(events: list[StreamEvent]) -> list[int]:
    return [e.sequence_number for e in events]


# replay -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("after", "expected"), [(-1, [0, 1, 2, 3, 4]), (2, [3, 4]), (3, [4])])
async def test_a_finished_response_replays_after_n_and_ends_at_its_terminal_event(
    after: int, expected: list[int]
) -> None:
    log = FakeLog()
    log.add(TENANT, ID, 0, attempt_events(0, *PREFIX, "response.in_progress", DELTA, "response.completed"))
    got = await collect(FakeStore(record("completed")), log, after)
    assert numbers(got) == expected
    assert got[-1].type == "response.completed"


@pytest.mark.parametrize("terminal", ["response.completed", "response.failed", "response.incomplete"])
async def test_nothing_after_the_terminal_event_is_sent(terminal: str) -> None:
    log = FakeLog()
    log.add(TENANT, ID, 0, [*attempt_events(0, "response.created", terminal), event(2, DELTA)])
    store = FakeStore(record("in_progress"))
    assert numbers(await collect(store, log)) == [0, 1]
    assert store.gets == 0  # the terminal event alone ends the stream


async def test_another_tenants_events_are_not_read() -> None:
    log = FakeLog()
    log.add("globex", ID, 0, attempt_events(0, *PREFIX, DELTA, "response.completed"))
    log.add(TENANT, ID, 0, attempt_events(0, "response.created", "response.completed"))
    assert numbers(await collect(FakeStore(record("completed")), log)) == [0, 1]


# live -------------------------------------------------------------------------------------------------------


async def test_follows_events_appended_later_until_the_terminal_one() -> None:
    log = FakeLog()
    log.add(TENANT, ID, 0, attempt_events(0, *PREFIX, "response.in_progress"))
    store = FakeStore(record())
    store.script = [
        lambda: log.add(TENANT, ID, 0, [event(3), event(4)]),
        lambda: None,  # a quiet poll
        lambda: log.add(TENANT, ID, 0, [event(5, "response.completed")]),
    ]
    got = await collect(store, log)
    assert numbers(got) == [0, 1, 2, 3, 4, 5]
    assert got[-1].type == "response.completed"
    assert store.gets == 3


async def test_a_terminal_event_written_with_the_terminal_status_is_not_missed() -> None:
    log = FakeLog()
    log.add(TENANT, ID, 0, attempt_events(0, *PREFIX))
    store = FakeStore(record())

    def settle() -> None:  # lands between follow's empty read and its look at the record
        log.add(TENANT, ID, 0, [event(2, "response.completed")])
        store.update(status="completed")

    store.script = [settle]
    assert numbers(await collect(store, log)) == [0, 1, 2]


async def test_a_cancelled_response_ends_without_a_terminal_event() -> None:
    log = FakeLog()
    log.add(TENANT, ID, 0, attempt_events(0, *PREFIX, "response.in_progress", DELTA))
    store = FakeStore(record())
    store.script = [lambda: store.update(status="cancelled")]
    got = await collect(store, log)
    assert numbers(got) == [0, 1, 2, 3]
    assert all(e.type != "error" for e in got)


async def test_the_stream_ends_when_the_record_is_deleted() -> None:
    log = FakeLog()
    log.add(TENANT, ID, 0, attempt_events(0, *PREFIX))
    store = FakeStore(record("queued"))
    store.script = [lambda: None, lambda: store.remove(TENANT, ID)]
    assert numbers(await collect(store, log)) == [0, 1]
    assert store.gets == 2


# a new attempt ------------------------------------------------------------------------------------------------


def restart(store: FakeStore, log: FakeLog, *kinds: str) -> Step:
    """The worker died; a new attempt took the record over and wrote its own sequence from 0."""

    def step() -> None:
        log.add(TENANT, ID, 1, attempt_events(1, *kinds))
        store.update(attempt=1, status="in_progress")

    return step


@pytest.mark.parametrize("after", [-1, 0, 1])
async def test_a_reader_within_the_shared_prefix_moves_to_the_new_attempt_seamlessly(after: int) -> None:
    log = FakeLog()
    log.add(TENANT, ID, 0, attempt_events(0, *PREFIX))
    store = FakeStore(record("queued"))
    store.script = [restart(store, log, *PREFIX, "response.in_progress", DELTA, "response.completed")]
    got = await collect(store, log, after)
    assert numbers(got) == list(range(after + 1, 5))  # no event twice, none skipped
    assert [e.model_dump()["attempt"] for e in got if e.sequence_number > 1] == [1, 1, 1]
    assert got[-1].type == "response.completed"


@pytest.mark.parametrize("sent", [("response.in_progress",), ("response.in_progress", DELTA)])
async def test_a_reader_past_the_shared_prefix_is_told_to_start_again(sent: tuple[str, ...]) -> None:
    log = FakeLog()
    log.add(TENANT, ID, 0, attempt_events(0, *PREFIX, *sent))
    store = FakeStore(record())
    store.script = [restart(store, log, *PREFIX, "response.in_progress", DELTA, "response.completed")]
    got = await collect(store, log)
    assert numbers(got) == list(range(len(PREFIX) + len(sent) + 1))
    last = got[-1].model_dump()
    assert last["type"] == "error" and last["code"] == "stream_restarted" and last["param"] is None
    assert "starting_after" in last["message"]
    assert all(e.model_dump().get("attempt") == 0 for e in got[:-1])  # nothing of the new attempt mixed in


# idle polling -------------------------------------------------------------------------------------------------


async def test_polls_back_off_while_idle_and_reset_when_events_arrive(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recording_sleep)  # follow's only sleep; the fakes never sleep
    log = FakeLog()
    log.add(TENANT, ID, 0, attempt_events(0, *PREFIX))
    store = FakeStore(record("queued"))
    quiet: list[Step] = [lambda: None] * 6
    store.script = [
        *quiet,
        lambda: log.add(TENANT, ID, 0, [event(2, "response.in_progress")]),
        lambda: None,
        lambda: log.add(TENANT, ID, 0, [event(3, "response.completed")]),
    ]
    got = await collect(store, log)
    assert numbers(got) == [0, 1, 2, 3]
    # x1.5 each idle poll, at most x4 (the 7th poll finds the record unchanged too: its event is read after it)
    idle = [POLL, POLL * 1.5, POLL * 2.25, POLL * 3.375, POLL * 4, POLL * 4, POLL * 4]
    assert sleeps == pytest.approx([*idle, POLL, POLL * 1.5])  # back to the poll interval once events flow
