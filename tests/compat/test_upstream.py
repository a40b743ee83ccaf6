"""How the live gateway uses its upstream: concurrently, and over reused connections."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from openai import OpenAI

from tests.compat.live import MODEL, LiveServer
from tests.fakes.upstream import FakeUpstream, Reply, text_reply

pytestmark = pytest.mark.compat

BARRIER_SECONDS = 5.0


def test_requests_reach_the_upstream_concurrently(client: OpenAI, upstream: FakeUpstream) -> None:
    # Given an upstream that answers only once two requests are in flight at the same time
    barrier = threading.Barrier(2, timeout=BARRIER_SECONDS)

    def together(_: dict[str, Any]) -> Reply:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return text_reply("alone")
        return text_reply("together")

    upstream.will(together, together)

    # When a buffered and a streamed request are sent at once
    def buffered() -> str:
        return client.responses.create(model=MODEL, input="a").output_text

    def streamed() -> str:
        with client.responses.stream(model=MODEL, input="b") as stream:
            return stream.get_final_response().output_text

    with ThreadPoolExecutor(2) as pool:
        answers = [future.result() for future in [pool.submit(buffered), pool.submit(streamed)]]

    # Then neither waited for the other: the gateway does not block while a call is open
    assert answers == ["together", "together"]


def test_upstream_connections_are_reused(client: OpenAI, upstream: FakeUpstream, live_server: LiveServer) -> None:
    # Given one call already made, so a connection to the upstream could be pooled
    client.responses.create(model=MODEL, input="warm up")
    before = live_server.switchboard.connections

    # When three more calls follow one another, buffered and streamed
    client.responses.create(model=MODEL, input="one")
    with client.responses.stream(model=MODEL, input="two") as stream:
        stream.until_done()
    client.responses.create(model=MODEL, input="three")

    # Then they reuse the pooled connection (one new connection at most, should the pool have dropped it)
    assert len(upstream.requests) == 4
    assert live_server.switchboard.connections - before <= 1
