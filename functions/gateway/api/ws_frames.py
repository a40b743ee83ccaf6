"""The frames of WebSocket mode: what a client sends, and the JSON text frames the gateway sends back.

A client frame is a JSON object with a ``type``. ``response.create`` carries a create body (clients leave out the
HTTP-only ``stream`` and ``background``: a ``stream`` is ignored, ``background: true`` refused) plus two
WebSocket-only fields: ``stream_id``, the lane, and ``generate``, false for a prewarm. Server frames are the SSE
event objects, unchanged except for the lane's ``stream_id`` when the create named one, and errors as Open
Responses' ``WebSocketErrorEvent``:
``{"type": "error", "status": 400, "error": {"type", "code", "message", "param"}}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_json

from gateway.api.routes.responses import parse_create
from gateway.errors import GatewayError, InvalidRequestError
from gateway.schemas.events import StreamEvent
from gateway.schemas.requests import ResponseCreateParams

CREATE = "response.create"
STREAM_ID = re.compile(r"[A-Za-z0-9_.\-]{1,256}")
"""What a lane's id may be (openai-python's ``ResponsesWebSocketSession`` checks the same)."""


class StreamIdError(InvalidRequestError):
    def __init__(self) -> None:
        super().__init__(
            "Invalid 'stream_id': expected 1 to 256 ASCII letters, digits, underscores, hyphens or periods.",
            param="stream_id",
            code="invalid_stream_id",
        )


@dataclass(frozen=True)
class ClientFrame:
    type: str
    stream_id: str | None
    body: dict[str, Any]
    """The rest of the frame (a create's body)."""


@dataclass(frozen=True)
class Create:
    params: ResponseCreateParams
    generate: bool
    size: int
    """The body's size in bytes, as metering counts an HTTP body."""


def read_frame(text: str | bytes) -> ClientFrame:
    """The frame's type, lane and fields; ``InvalidRequestError`` for anything but a JSON object with a type."""
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidRequestError("The message is not valid JSON.", code="invalid_json") from None
    if not isinstance(data, dict):
        raise InvalidRequestError("Expected a JSON object with a 'type'.", code="invalid_type")
    kind = data.pop("type", None)
    if not isinstance(kind, str):
        raise InvalidRequestError(
            "Missing required parameter: 'type'.", param="type", code="missing_required_parameter"
        )
    stream_id = data.pop("stream_id", None)
    if stream_id is not None and not (isinstance(stream_id, str) and STREAM_ID.fullmatch(stream_id)):
        raise StreamIdError()
    return ClientFrame(kind, stream_id, data)


def read_create(body: dict[str, Any]) -> Create:
    """A ``response.create`` body as the create route reads one, streamed: the same checks and errors."""
    fields = dict(body)
    generate = fields.pop("generate", True)
    if not isinstance(generate, bool):
        raise InvalidRequestError("Invalid type for 'generate': expected a boolean.", param="generate")
    if fields.pop("background", False):
        raise InvalidRequestError(
            "Background responses are not supported over WebSocket: use POST /v1/responses.",
            param="background",
            code="unsupported_parameter",
        )
    # Every WebSocket response streams: a client that says so anyway (the HTTP habit) is not refused for it.
    fields.pop("stream", None)
    raw = to_json({**fields, "stream": True})
    return Create(parse_create(raw), generate, len(raw))


def event_frame(event: StreamEvent, stream_id: str | None) -> str:
    """The event as SSE's ``data:`` line carries it, plus the lane's ``stream_id`` when the create named one."""
    data = event.model_dump_json()
    if stream_id is None:
        return data
    # Appended to the exact JSON the SSE stream sends (an object, never empty: it has a type), not re-dumped.
    return f'{data[:-1]},"stream_id":{json.dumps(stream_id)}}}'


def error_frame(error: GatewayError, stream_id: str | None = None) -> str:
    frame: dict[str, Any] = {
        "type": "error",
        "status": error.status_code,
        # Open Responses requires a code: an error without its own says its type.
        "error": {
            "type": error.error_type,
            "code": error.code or error.error_type,
            "message": error.message,
            "param": error.param,
        },
    }
    if stream_id is not None:
        frame["stream_id"] = stream_id
    return to_json(frame).decode()
