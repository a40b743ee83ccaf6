"""Background mode through the official ``openai`` SDK against a live local stack, as ``make run`` wires it:
uvicorn + moto (DynamoDB and SQS, with a DLQ) + the local worker loop calling the real worker handler.

The shared ``live_server`` fixture has no jobs queue, so this module starts its own stack from the same parts.
"""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import openai
import pytest
from openai import OpenAI

from gateway.api.app import create_app
from gateway.api.deps import build_services
from gateway.dev.worker import provision_queue, worker_loop
from gateway.handlers.worker import WorkerRuntime, build_worker
from gateway.settings import Settings
from gateway.store.schema import create_table
from tests.compat.live import (
    MODEL,
    REGION,
    UPSTREAM_KEY,
    LiveServer,
    Switchboard,
    moto_server,
    scrubbed_env,
    uvicorn_server,
)
from tests.fakes.upstream import FakeUpstream, text_reply

pytestmark = pytest.mark.compat
TABLE = "responses-background-compat"
CONSUMERS = 2
TIMEOUT = 10.0


def _pooled_handler(runtimes: list[WorkerRuntime]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The worker handler over prebuilt runtimes (their clients were built in the moto environment)."""
    idle: queue.Queue[WorkerRuntime] = queue.Queue()
    for runtime in runtimes:
        idle.put(runtime)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        runtime = idle.get()
        try:
            return runtime.handle(event)
        finally:
            idle.put(runtime)

    return handler


@pytest.fixture(scope="module")
def stack() -> Iterator[LiveServer]:
    switchboard = Switchboard()
    with ExitStack() as stack:
        upstream_url = stack.enter_context(switchboard.serve())
        endpoint = stack.enter_context(moto_server())
        with scrubbed_env(endpoint, ("DYNAMODB", "SQS")):
            sqs = boto3.client("sqs", region_name=REGION)
            create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
            queue_url = provision_queue(sqs, "jobs", max_receives=3, visibility_seconds=30)
            settings = Settings(
                sealing_keys="compat-sealing-key-0123456789abcdef-fixed",
                table_name=TABLE,
                queue_url=queue_url,
                aws_region=REGION,
                openai_base_url=upstream_url,
                openai_api_key=UPSTREAM_KEY,
                api_keys="tenant-a:key-a",
                event_flush_seconds=0.05,
                stream_poll_seconds=0.05,
                worker_heartbeat_seconds=0.2,
            )
            services = build_services(settings)
            runtimes = [WorkerRuntime(build_worker(settings), asyncio.new_event_loop()) for _ in range(CONSUMERS)]
        stack.enter_context(worker_loop(sqs, queue_url, _pooled_handler(runtimes), region=REGION, consumers=CONSUMERS))
        port = stack.enter_context(uvicorn_server(create_app(services)))
        yield LiveServer(base_url=f"http://127.0.0.1:{port}/v1", switchboard=switchboard)
    for runtime in runtimes:
        runtime.close()


@pytest.fixture
def upstream(stack: LiveServer) -> FakeUpstream:
    fresh = FakeUpstream()
    stack.switchboard.current = fresh
    return fresh


@pytest.fixture
def client(stack: LiveServer, upstream: FakeUpstream) -> Iterator[OpenAI]:
    with OpenAI(base_url=stack.base_url, api_key="key-a", max_retries=0, timeout=TIMEOUT) as sdk:
        yield sdk


def _poll(client: OpenAI, response_id: str, until: Callable[[Any], bool]) -> tuple[Any, list[str]]:
    """Retrieve until ``until(response)``; returns it and every status seen on the way."""
    seen: list[str] = []
    deadline = time.monotonic() + TIMEOUT
    while True:
        response = client.responses.retrieve(response_id)
        if not seen or seen[-1] != response.status:
            seen.append(str(response.status))
        if until(response):
            return response, seen
        assert time.monotonic() < deadline, f"stuck at {seen}"
        time.sleep(0.05)


def test_create_in_background_then_poll_to_completed(client: OpenAI, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("slow ", "and ", "steady", delay=0.05))

    created = client.responses.create(model=MODEL, input="hi", background=True)
    done, seen = _poll(client, created.id, lambda r: r.status not in ("queued", "in_progress"))

    assert created.status == "queued" and created.background is True
    assert created.usage is not None and created.usage.total_tokens == 0
    assert done.status == "completed" and done.output_text == "slow and steady"
    order = ["queued", "in_progress", "completed"]
    assert [order.index(status) for status in seen] == sorted(order.index(status) for status in seen)


def test_cancel_a_running_background_response(client: OpenAI, upstream: FakeUpstream) -> None:
    upstream.will(text_reply(*[f"w{n} " for n in range(60)], delay=0.05), text_reply("quick"))
    running = client.responses.create(model=MODEL, input="long", background=True)
    _poll(client, running.id, lambda r: r.status == "in_progress" and r.output)

    cancelled = client.responses.cancel(running.id)
    again = client.responses.cancel(running.id)

    assert cancelled.status == "cancelled" and again.status == "cancelled"
    assert cancelled.output_text.startswith("w0 ")
    assert client.responses.retrieve(running.id).status == "cancelled"

    finished = client.responses.create(model=MODEL, input="quick", background=True)
    _poll(client, finished.id, lambda r: r.status == "completed")
    with pytest.raises(openai.BadRequestError, match="Cannot cancel a completed response"):
        client.responses.cancel(finished.id)
    synchronous = client.responses.create(model=MODEL, input="now")
    with pytest.raises(openai.BadRequestError, match="background=true"):
        client.responses.cancel(synchronous.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.cancel("resp_" + "0" * 50)


def test_a_background_stream_resumes_exactly_after_the_last_event_seen(client: OpenAI, upstream: FakeUpstream) -> None:
    words = [f"w{n} " for n in range(15)]
    upstream.will(text_reply(*words, delay=0.04))

    # Given a background stream the client drops after a few deltas
    stream = client.responses.create(model=MODEL, input="hi", background=True, stream=True)
    before: list[Any] = []
    for event in stream:
        before.append(event)
        if sum(e.type == "response.output_text.delta" for e in before) == 3:
            break
    stream.close()
    response_id = before[0].response.id
    last = before[-1].sequence_number

    # When it resumes from the last sequence number it saw
    after = list(client.responses.retrieve(response_id, stream=True, starting_after=last))

    # Then it gets exactly the rest, through completion, and the work was never interrupted
    assert [e.type for e in before[:3]] == ["response.created", "response.queued", "response.in_progress"]
    assert after[0].sequence_number == last + 1
    assert [e.sequence_number for e in before + after] == list(range(len(before) + len(after)))
    assert after[-1].type == "response.completed"
    text = "".join(e.delta for e in before + after if e.type == "response.output_text.delta")
    assert text == "".join(words) == after[-1].response.output_text


def test_the_sdk_stream_helper_follows_a_background_response(client: OpenAI, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("one ", "two ", "three", delay=0.03))

    # The helper creating a background stream...
    with client.responses.stream(model=MODEL, input="hi", background=True) as live:
        events = list(live)
        final = live.get_final_response()
    # ...and the helper re-attaching to it by id from a sequence number
    with client.responses.stream(response_id=final.id, starting_after=4) as resumed:
        tail = list(resumed)
        again = resumed.get_final_response()

    assert events[0].type == "response.created" and final.status == "completed"
    assert final.output_text == "one two three" == again.output_text
    assert [e.sequence_number for e in tail] == [e.sequence_number for e in events][5:]
