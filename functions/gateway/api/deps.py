"""The services a request needs, built once per process on first use, and ``authorized``, which each route calls."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.requests import HTTPConnection

from gateway.api.auth import Authenticator
from gateway.composition import build_engine
from gateway.domain.conversations import ConversationsService
from gateway.domain.service import ResponsesService
from gateway.log_scope import bind
from gateway.providers.registry import ProviderRegistry
from gateway.settings import Settings, get_settings
from gateway.store.keys import DynamoKeyStore
from gateway.store.threaded import ThreadedConversationStore
from gateway.store.usage import DynamoUsage


@dataclass
class Services:
    settings: Settings
    responses: ResponsesService
    conversations: ConversationsService
    authenticator: Authenticator
    providers: ProviderRegistry
    usage: DynamoUsage
    """The usage ledger, read by the Usage API (``api/routes/usage.py``)."""


def build_services(settings: Settings | None = None, *, providers: ProviderRegistry | None = None) -> Services:
    """The engine (``composition.py``) and what only the API needs on top of it: auth and conversations."""
    engine = build_engine(settings or get_settings(), providers=providers)
    return Services(
        settings=engine.settings,
        responses=engine.responses,
        conversations=ConversationsService(
            ThreadedConversationStore(engine.storage.conversations), sealer=engine.sealer
        ),
        authenticator=Authenticator(
            engine.settings, DynamoKeyStore(engine.settings.table_name, engine.storage.dynamodb)
        ),
        providers=engine.providers,
        usage=engine.usage,
    )


async def authorized(request: HTTPConnection) -> tuple[Services, str]:
    """The process's services (built on first use) and the tenant the request's key belongs to.

    Each route calls this first thing rather than declaring FastAPI dependencies: FastAPI's solver took 0.11 ms
    per request for these two (timed in process), a tenth of everything the gateway adds to a call. The
    header and the path parameter are read from the request for the same reason, and because a declared
    parameter makes FastAPI import pydantic.v1 (about 35 ms of every cold start) to check its type.
    """
    services: Services | None = request.app.state.services
    if services is None:
        services = await asyncio.to_thread(_services_of, request.app)
    principal = await services.authenticator.principal(request.headers.get("authorization"))
    request.state.principal = principal  # for the routes that meter model calls (``api/metering.py``)
    bind(tenant=principal.tenant)  # the request's later log lines, and its access line, name the tenant
    return services, principal.tenant


_building = threading.Lock()


def _services_of(app: FastAPI) -> Services:
    """The app's services, built by the first request to get here. In a thread (``authorized`` hops): building
    reads the provider secret, imports boto3 and makes its clients, which would stall every request on the loop.
    The lock makes concurrent first requests wait for one build; a failed one (an unreadable secret: a logged
    ``server_error``) is tried again by the next request."""
    with _building:
        services: Services | None = app.state.services
        if services is None:
            services = app.state.services = build_services()
        return services
