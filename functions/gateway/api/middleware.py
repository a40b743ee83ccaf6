"""``x-request-id`` on every reply (the SDKs expose it as ``_request_id``). Pure ASGI: streaming untouched.

The id is also kept in the request's scope state: an unexpected exception is rendered by Starlette's
``ServerErrorMiddleware``, which sits outside every user middleware, so ``api/errors.py`` adds the header to
that 500 itself (and logs the id with the traceback).
"""

from __future__ import annotations

import secrets

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_STATE_KEY = "request_id"


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

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        await self.app(scope, receive, send_with_id)


def request_id_of(connection: HTTPConnection) -> str | None:
    """The id ``RequestIdMiddleware`` gave this request, if it got that far."""
    value = connection.scope.get("state", {}).get(_STATE_KEY)
    return value if isinstance(value, str) else None
