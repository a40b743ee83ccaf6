"""Replay a background response's stored events, then follow new ones until its terminal event.

The record names the live attempt; every attempt's events form a complete sequence from 0, and its first two
(``response.created``, ``response.queued``) are the same in every attempt. So a reader that has sent no more
than those moves on to a new attempt seamlessly. One that has sent more cannot: the new attempt is a new model
call with other text and ids. It gets an ``error`` event telling it to replay from the start, which then reads
one coherent sequence. (In AWS that needs a reader outliving the queue's visibility timeout, which the stream
function's 15-minute limit rules out; locally it can happen.)

A cancelled response has no terminal event: the stream ends when the record says ``cancelled``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from gateway.domain.ports import EventLog, ResponseStore, StoredResponse
from gateway.domain.status import TERMINAL
from gateway.schemas.events import ErrorEvent, StreamEvent

TERMINAL_EVENTS = frozenset({"response.completed", "response.failed", "response.incomplete"})
SHARED_PREFIX_END = 1
"""The last sequence number every attempt shares (``response.queued``)."""
_IDLE_BACKOFF = 1.5
_IDLE_CEILING = 4


async def follow(
    store: ResponseStore, log: EventLog, record: StoredResponse, after: int, poll_seconds: float
) -> AsyncIterator[StreamEvent]:
    """Events with ``sequence_number > after``, live until the terminal event (or cancellation)."""
    tenant, response_id, attempt = record.tenant, record.id, record.attempt
    last = after
    wait = poll_seconds
    while True:
        batch = await log.read(tenant, response_id, attempt, last)
        for event in batch:
            yield event
            last = event.sequence_number
            if event.type in TERMINAL_EVENTS:
                return
        if batch:
            wait = poll_seconds
            continue
        current = await store.get(tenant, response_id)
        if current is None:  # deleted (once settled) or expired under us
            return
        if current.attempt != attempt:
            if last > SHARED_PREFIX_END:
                yield _restarted(last + 1)
                return
            attempt = current.attempt
            continue
        if current.status in TERMINAL:
            # The terminal event is written with the terminal status, so one more read sees it if it exists.
            for event in await log.read(tenant, response_id, attempt, last):
                yield event
                if event.type in TERMINAL_EVENTS:
                    return
            return
        await asyncio.sleep(wait)
        # A queued response may wait a while for a worker: poll less often while nothing happens.
        wait = min(wait * _IDLE_BACKOFF, poll_seconds * _IDLE_CEILING)


def _restarted(sequence_number: int) -> StreamEvent:
    return ErrorEvent(
        sequence_number=sequence_number,
        code="stream_restarted",
        message="The background response was restarted after its worker failed. Stream it again from the "
        "start (GET /v1/responses/{id}?stream=true without starting_after).",
        param=None,
    )
