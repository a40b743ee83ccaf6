"""WebSocket mode: ``GET /v1/responses`` upgraded (``OpenAI-Beta: responses_websockets=2026-02-06``).

The key is checked at the upgrade, as a POST's is (a refusal is the HTTP error itself, before any frame). Then
each ``response.create`` frame runs through the engine as a streamed create would (``api/ws_turn.py``) and its
events go out as JSON text frames. Creates on one lane (``stream_id``; none is the default lane) run one after
another, in order; different lanes run side by side, at most ``ACTIVE`` at once. Other client events
(``response.processed``, ...) are accepted and need no answer; ``response.steer`` is refused, as steering is not
supported.

A connection lives at most ``RESPONSES_WEBSOCKET_MAX_SECONDS`` (60 minutes): then the responses in flight finish,
an error frame ``websocket_connection_limit_reached`` is sent and the socket closes. With nothing in flight and
no message for ``RESPONSES_WEBSOCKET_IDLE_SECONDS`` it closes cleanly (1000).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import anyio
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from gateway.api import errors
from gateway.api.deps import authorized
from gateway.api.ws_frames import CREATE, ClientFrame, error_frame, read_create, read_frame
from gateway.api.ws_turn import Turns
from gateway.errors import GatewayError, InvalidRequestError, ServerError

logger = logging.getLogger("gateway")
PATH = "/v1/responses"
ACTIVE = 16
"""Responses one connection runs at once (across lanes); further creates wait their turn, as on OpenAI."""
NAMED_LANES = 32
"""Distinct ``stream_id`` values one connection may use (the default lane does not count), as on OpenAI."""


class _LimitReachedError(InvalidRequestError):
    def __init__(self, what: str, code: str) -> None:
        super().__init__(what, code=code)


async def responses_socket(websocket: WebSocket) -> None:
    try:
        services, tenant = await authorized(websocket)
    except GatewayError as exc:
        await _deny(websocket, exc)
        return
    except Exception:  # the services could not be built (an unreadable secret): a 500, as a POST would get
        logger.exception("websocket upgrade failed on %s", PATH)
        await _deny(websocket, ServerError())
        return
    await websocket.accept()
    settings = services.settings
    turns = Turns.of(services.responses, tenant, websocket.state.principal, settings.ttl_days)
    connection = _Connection(websocket, turns, settings.websocket_max_seconds, settings.websocket_idle_seconds)
    logger.info("websocket opened on %s", PATH)
    try:
        await connection.serve()
    except WebSocketDisconnect:  # gone while we answered
        connection.ended = "client gone"
    finally:
        await connection.stop()
        logger.info("websocket closed after %d responses (%s)", connection.creates, connection.ended)


route = WebSocketRoute(PATH, responses_socket)


async def _deny(websocket: WebSocket, error: GatewayError) -> None:
    """The upgrade refused with the error a POST would get (401 for a bad key)."""
    reply = errors.envelope(error.status_code, error.message, kind=error.error_type, param=error.param, code=error.code)
    try:
        await websocket.send_denial_response(reply)
    except RuntimeError:  # a server without the denial extension: say it in a frame, then close
        await websocket.accept()
        await websocket.send_text(error_frame(error))
        await websocket.close(1008)


@dataclass
class _Lane:
    frames: asyncio.Queue[ClientFrame] = field(default_factory=asyncio.Queue)
    task: asyncio.Task[None] | None = None
    running: bool = False


class _Connection:
    def __init__(self, websocket: WebSocket, turns: Turns, max_seconds: float, idle_seconds: float) -> None:
        self._websocket = websocket
        self._turns = turns
        self._lifetime = max_seconds
        self._deadline = time.monotonic() + max_seconds
        self._idle = idle_seconds
        self._last_active = time.monotonic()
        self._lanes: dict[str | None, _Lane] = {}
        self._active = asyncio.Semaphore(ACTIVE)
        self._sending = asyncio.Lock()
        self.creates = 0
        self.ended = "open"

    async def serve(self) -> None:
        while True:
            now = time.monotonic()
            if now >= self._deadline:
                await self._limit_reached()
                return
            timeout = min(self._deadline, self._last_active + self._idle) - now
            # anyio's timeout, not asyncio.wait_for: on Python 3.11 wait_for can swallow the cancellation of the
            # server's own scope (a client gone while we wait).
            message = None
            with anyio.move_on_after(max(timeout, 0.001)):
                message = await self._websocket.receive()
            if message is None:
                if self._busy():
                    self._last_active = time.monotonic()
                elif time.monotonic() - self._last_active >= self._idle:
                    self.ended = "idle"
                    await self._websocket.close(1000)
                    return
                continue
            if message["type"] == "websocket.disconnect":
                self.ended = "client closed"
                return
            self._last_active = time.monotonic()
            data = message.get("text")
            await self._dispatch(data if data is not None else message.get("bytes") or b"")

    async def stop(self) -> None:
        """Cancel what is still running (the client went away): each run's upstream call ends with it."""
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for task in tasks:
            task.cancel()
        with anyio.CancelScope(shield=True):  # each run's cleanup completes even when the server cancels us
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _dispatch(self, data: str | bytes) -> None:
        try:
            frame = read_frame(data)
            if frame.type == "response.steer":
                raise InvalidRequestError(
                    "Steering (response.steer) is not supported: send a response.create with previous_response_id.",
                    param="type",
                    code="unsupported_event",
                )
            if frame.type != CREATE:
                return  # response.processed and other client notices: nothing to answer
            self._lane(frame.stream_id).frames.put_nowait(frame)
        except GatewayError as exc:
            await self._send(error_frame(exc, _lane_of(data, exc)))

    def _lane(self, stream_id: str | None) -> _Lane:
        lane = self._lanes.get(stream_id)
        if lane is None:
            if stream_id is not None and sum(key is not None for key in self._lanes) >= NAMED_LANES:
                raise _LimitReachedError(
                    f"This connection already uses {NAMED_LANES} stream_id values: open another connection.",
                    "websocket_stream_limit_reached",
                )
            lane = self._lanes[stream_id] = _Lane()
            lane.task = asyncio.create_task(self._work(stream_id, lane))
        return lane

    async def _work(self, stream_id: str | None, lane: _Lane) -> None:
        """One lane: its creates in order, each once a slot is free."""
        while True:
            frame = await lane.frames.get()
            lane.running = True
            try:
                async with self._active:
                    await self._create(frame, stream_id)
            finally:
                lane.running = False
                self._last_active = time.monotonic()

    async def _create(self, frame: ClientFrame, stream_id: str | None) -> None:
        self.creates += 1
        try:
            create = read_create(frame.body)
        except GatewayError as exc:
            previous = frame.body.get("previous_response_id")
            self._turns.cache.evict(previous if isinstance(previous, str) else None, stream_id)
            await self._send(error_frame(exc, stream_id))
            return
        try:
            await self._turns.run(create, stream_id, self._send)
        except (WebSocketDisconnect, asyncio.CancelledError):
            raise
        except Exception:
            logger.exception("websocket response.create failed")
            await self._send(error_frame(ServerError(), stream_id))

    async def _send(self, text: str) -> None:
        async with self._sending:
            await self._websocket.send_text(text)

    def _busy(self) -> bool:
        return any(lane.running or not lane.frames.empty() for lane in self._lanes.values())

    async def _limit_reached(self) -> None:
        """Finish what is in flight, then say why the connection ends and close it."""
        while self._busy():
            await asyncio.sleep(0.05)
        limit = _LimitReachedError(
            f"This WebSocket connection reached its limit of {self._lifetime / 60:g} minutes: "
            "open a new connection to continue.",
            "websocket_connection_limit_reached",
        )
        self.ended = "limit reached"
        await self._send(error_frame(limit))
        await self._websocket.close(1000)


def _lane_of(data: str | bytes, error: GatewayError) -> str | None:
    """The lane an error answers: the frame's own ``stream_id``, unless that is what was wrong with it."""
    if error.code == "invalid_stream_id":
        return None
    try:
        return read_frame(data).stream_id
    except GatewayError:
        return None
