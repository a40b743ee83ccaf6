"""Server frames through API Gateway's WebSocket API: deltas coalesced, every frame within its limits.

API Gateway takes at most 128 KB per message and meters messages in 32 KB increments, and each
``post_to_connection`` is one HTTPS call. A model streams hundreds of small ``*.delta`` events, so consecutive
deltas of the same part (same ``type``, ``item_id``, ``output_index``, ``content_index``...) are merged into one
event: their ``delta`` strings (and ``logprobs``) concatenated, until the merged frame would pass
``METERED_BYTES`` (one metered message) or ``CADENCE_SECONDS`` has passed since the first one waiting, or another
event comes. The protocol is one event per frame, so merging is the only way to fewer frames; the merged event is
exactly what a client would build by concatenating the deltas. ``sequence_number`` is renumbered over what is
actually sent (0, 1, 2, ... with no gaps), as clients expect consecutive numbers.

An event over ``FRAME_BYTES`` cannot be sent (a ``response.completed`` with a very long output): it is replaced
by an error frame ``response_too_large`` naming the limit, so the client is told rather than left waiting.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

FRAME_BYTES = 128 * 1024
"""API Gateway's WebSocket message limit, both ways."""
METERED_BYTES = 32 * 1024
"""API Gateway bills messages in 32 KB increments: a merged delta stops growing below this."""
CADENCE_SECONDS = 0.05
"""Longest a delta waits for the next one to merge with: below what a reader notices."""
_MERGED = frozenset({"delta", "logprobs", "sequence_number", "obfuscation"})

Post = Callable[[str], Awaitable[None]]


class Coalescer:
    """``send`` for ``Turns.run``: merges deltas, renumbers, enforces the frame limit, then ``post``s."""

    def __init__(self, post: Post, *, cadence: float = CADENCE_SECONDS, clock: Callable[[], float] = time.monotonic):
        self._post = post
        self._cadence = cadence
        self._clock = clock
        self._pending: dict[str, Any] | None = None
        self._since = 0.0
        self._size = 0
        self._sequence = 0
        self._timer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._failed: BaseException | None = None
        """What a timed flush raised (the client went away): raised to the next caller."""
        self.frames = 0

    async def send(self, text: str) -> None:
        event: dict[str, Any] = json.loads(text)
        async with self._lock:
            self._raise_failure()
            if self._pending is not None and self._joins(event):
                self._merge(event)
                if self._size < METERED_BYTES and self._clock() - self._since < self._cadence:
                    return
                await self._flush()
                return
            await self._flush()
            if _is_delta(event):
                self._pending, self._since, self._size = event, self._clock(), len(text.encode())
                self._timer = asyncio.create_task(self._flush_later())
                return
            await self._emit(event)

    async def close(self) -> None:
        """Send what is still waiting (the turn ended)."""
        async with self._lock:
            self._raise_failure()
            await self._flush()

    def _raise_failure(self) -> None:
        if self._failed is not None:
            raise self._failed

    def _joins(self, event: dict[str, Any]) -> bool:
        pending = self._pending or {}
        if not _is_delta(event) or {k: v for k, v in event.items() if k not in _MERGED} != {
            k: v for k, v in pending.items() if k not in _MERGED
        }:
            return False
        return self._size + len(event["delta"].encode()) + 64 <= METERED_BYTES

    def _merge(self, event: dict[str, Any]) -> None:
        pending = self._pending
        assert pending is not None
        pending["delta"] += event["delta"]
        if isinstance(event.get("logprobs"), list) and isinstance(pending.get("logprobs"), list):
            pending["logprobs"] = [*pending["logprobs"], *event["logprobs"]]
        self._size += len(event["delta"].encode())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._cadence)
        async with self._lock:
            self._timer = None  # this task is finishing: _flush must not cancel it
            try:
                await self._flush()
            except Exception as exc:  # nobody awaits this task: the next send or close raises it
                self._failed = exc

    async def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pending, self._pending = self._pending, None
        if pending is not None:
            await self._emit(pending)

    async def _emit(self, event: dict[str, Any]) -> None:
        if "sequence_number" in event:
            event["sequence_number"] = self._sequence
            self._sequence += 1
        text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
        if len(text.encode()) > FRAME_BYTES:
            text = too_large_frame(event.get("type"), event.get("stream_id"))
        await self._post(text)
        self.frames += 1


def too_large_frame(what: object, stream_id: object = None, *, status: int = 500) -> str:
    """The error frame for a message over API Gateway's 128 KB (an event we cannot send, or a client frame)."""
    frame: dict[str, Any] = {
        "type": "error",
        "status": status,
        "error": {
            "type": "invalid_request_error" if status == 413 else "server_error",
            "code": "request_too_large" if status == 413 else "response_too_large",
            "message": f"{what} is larger than the {FRAME_BYTES // 1024} KB a WebSocket message may carry on "
            "this deployment (API Gateway's limit): use POST /v1/responses for it.",
            "param": None,
        },
    }
    if isinstance(stream_id, str):
        frame["stream_id"] = stream_id
    return json.dumps(frame, separators=(",", ":"))


def _is_delta(event: dict[str, Any]) -> bool:
    return str(event.get("type", "")).endswith(".delta") and isinstance(event.get("delta"), str)
