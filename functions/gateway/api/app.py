"""``create_app()``: the FastAPI app shared by every function (Mangum, uvicorn under LWA, ``make run``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from gateway.api import errors
from gateway.api.body import BodyMiddleware
from gateway.api.deps import Services
from gateway.api.middleware import RequestIdMiddleware
from gateway.api.routes import conversations, health, models, responses, usage, websocket
from gateway.snapstart import install as install_snapstart_route


def create_app(services: Services | None = None) -> FastAPI:
    """The app; ``services`` are built from settings on the first request unless given (tests, dev server)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        built: Services | None = app.state.services
        if built is not None:
            await built.providers.aclose()

    app = FastAPI(
        title="Responses API gateway",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        # Mounted as the app's own routes: include_router's wrapper costs ~35 us of matching per request.
        routes=[
            *health.router.routes,
            *responses.router.routes,
            *conversations.router.routes,
            *models.router.routes,
            *usage.router.routes,
            websocket.route,  # GET /v1/responses upgraded: WebSocket mode
        ],
        # A 307 to the slash-less path makes clients send the body again, and OpenAI does not redirect either:
        # `/v1/responses/` is an unknown URL like any other.
        redirect_slashes=False,
    )
    app.state.services = services
    errors.install(app)
    # Checked before the exception-class handlers: an unknown path, or a known one with another method
    # (PUT /v1/responses/compact), answers as OpenAI does, 404 "Invalid URL (METHOD /path)".
    app.add_exception_handler(404, _invalid_url)
    app.add_exception_handler(405, _invalid_url)
    app.add_middleware(BodyMiddleware)
    app.add_middleware(RequestIdMiddleware)
    install_snapstart_route(app)  # only under the web adapter with SnapStart hooks configured
    return app


async def _invalid_url(request: Request, _: Exception) -> JSONResponse:
    return errors.envelope(404, f"Invalid URL ({request.method} {request.url.path})", kind="invalid_request_error")
