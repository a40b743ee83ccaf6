"""Server-sent events through sse-starlette: how the gateway's event stream goes out on the wire.

Each event is one ``event: <type>`` / ``data: <one-line JSON>`` frame (no ``id:`` lines, never ``[DONE]``).
sse-starlette frames them, sends a ``: keep-alive`` comment every ``keepalive_seconds`` so API Gateway's idle
timeout and proxies never close a long reasoning pause, and stops the stream when the client hangs up.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from gateway.schemas.events import StreamEvent

if TYPE_CHECKING:
    from sse_starlette import EventSourceResponse, ServerSentEvent

SEPARATOR = "\n"
HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
KEEPALIVE_COMMENT = "keep-alive"


def event_stream(
    events: AsyncIterator[StreamEvent],
    keepalive_seconds: float,
    headers: Mapping[str, str] | None = None,
    *,
    on_close: Callable[[], Awaitable[None]] | None = None,
) -> EventSourceResponse:
    """The streaming response for ``events``; ``headers`` are sent along with the SSE ones. ``on_close`` runs once
    the response is over however it ended, even if ``events`` never started (a client that hung up at once):
    what the source would have closed in its ``finally`` is closed there."""
    # Imported by the first stream rather than at app construction: sse-starlette imports uvicorn (~25 ms),
    # which the buffered function (Mangum, never streaming) would otherwise load at every cold start.
    from sse_starlette import EventSourceResponse, ServerSentEvent
    from starlette.background import BackgroundTask

    def keepalive() -> ServerSentEvent:
        return ServerSentEvent(comment=KEEPALIVE_COMMENT, sep=SEPARATOR)

    return EventSourceResponse(
        frames(events),
        headers={**HEADERS, **(headers or {})},
        ping=keepalive_seconds,
        sep=SEPARATOR,
        ping_message_factory=keepalive,
        background=BackgroundTask(on_close) if on_close is not None else None,
    )


async def frames(events: AsyncIterator[StreamEvent]) -> AsyncGenerator[ServerSentEvent, None]:
    """One frame per event. A source that is a generator is closed however the stream ends (finished, failed,
    or closed or cancelled by sse-starlette when the client hangs up), so the upstream call it owns ends too."""
    from sse_starlette import ServerSentEvent

    try:
        async for event in events:
            yield ServerSentEvent(event.model_dump_json(), event=event.type, sep=SEPARATOR)
    finally:
        if isinstance(events, AsyncGenerator):
            await events.aclose()
