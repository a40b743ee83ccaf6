"""``create_app()``: the FastAPI app shared by every function (Mangum, uvicorn under LWA, ``make run``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.api import errors
from gateway.api.deps import Services
from gateway.api.middleware import RequestIdMiddleware
from gateway.api.routes import health, responses


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
        routes=[*health.router.routes, *responses.router.routes],
    )
    app.state.services = services
    errors.install(app)
    app.add_middleware(RequestIdMiddleware)
    return app
