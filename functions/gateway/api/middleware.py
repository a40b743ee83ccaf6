"""``x-request-id`` on every reply (the SDKs expose it as ``_request_id``), the log scope of each request, and one
access line per request. Pure ASGI: streaming untouched.

The id is also kept in the request's scope state: an unexpected exception is rendered by Starlette's
``ServerErrorMiddleware``, which sits outside every user middleware, so ``api/errors.py`` adds the header to
that 500 itself (and logs the id with the traceback). For the same reason the log scope is left open when the
app raises: that handler runs next in the same task, and its lines then carry the request's fields too. The
task ends with the request (uvicorn and Mangum run each request in a task of its own).

The access line (method, path, status, duration; never the query, headers or body) is what ties an
``x-request-id`` a client reports to the request's lines in CloudWatch.
"""

from __future__ import annotations

import logging
import secrets
import time

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.log_scope import close_scope, open_scope

_STATE_KEY = "request_id"
logger = logging.getLogger("gateway.access")
_PATH_CHARS = 200
"""An unknown path is logged as sent, up to this long."""


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + secrets.token_hex(16)
        scope.setdefault("state", {})[_STATE_KEY] = request_id
        header = (b"x-request-id", request_id.encode())
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        token = open_scope(request_id=request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            _access(scope, status or 500, started)  # ServerErrorMiddleware answers 500 unless a reply began
            raise
        except BaseException:  # cancelled: the client went away
            _access(scope, status, started)
            raise
        _access(scope, status, started)
        close_scope(token)


def _access(scope: Scope, status: int | None, started: float) -> None:
    if logger.isEnabledFor(logging.INFO):
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        path = scope["path"][:_PATH_CHARS]
        logger.info("%s %s %s", scope["method"], path, status or "-", extra={"status": status, "duration_ms": elapsed})


def request_id_of(connection: HTTPConnection) -> str | None:
    """The id ``RequestIdMiddleware`` gave this request, if it got that far."""
    value = connection.scope.get("state", {}).get(_STATE_KEY)
    return value if isinstance(value, str) else None
