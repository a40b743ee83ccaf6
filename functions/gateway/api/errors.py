"""The one place that renders errors: every failure leaves as OpenAI's envelope, never as a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.api.middleware import request_id_of
from gateway.errors import GatewayError, RateLimitError
from gateway.schemas.errors import ErrorObject, ErrorResponse

logger = logging.getLogger("gateway")


def envelope(
    status: int, message: str, *, kind: str, param: str | None = None, code: str | None = None
) -> JSONResponse:
    body = ErrorResponse(error=ErrorObject(message=message, type=kind, param=param, code=code))
    return JSONResponse(body.model_dump(), status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(GatewayError)
    async def _gateway_error(_: Request, exc: GatewayError) -> JSONResponse:
        response = envelope(exc.status_code, exc.message, kind=exc.error_type, param=exc.param, code=exc.code)
        response.headers.update(exc.headers)
        if isinstance(exc, RateLimitError) and exc.retry_after:
            response.headers["retry-after"] = exc.retry_after
        elif isinstance(exc, RateLimitError):
            response.headers["retry-after"] = "1"
        if exc.retryable is False:
            response.headers["x-should-retry"] = "false"
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return envelope(exc.status_code, str(exc.detail), kind=kind)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Runs in ServerErrorMiddleware, outside RequestIdMiddleware: the header is added here.
        request_id = request_id_of(request)
        logger.exception("unhandled error on %s %s (request %s)", request.method, request.url.path, request_id)
        response = envelope(
            500,
            "The server had an error while processing your request. Sorry about that!",
            kind="server_error",
        )
        if request_id is not None:
            response.headers["x-request-id"] = request_id
        return response
