"""The services a request needs, built once per process on first use, and ``authorized``, which each route calls."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

from fastapi import FastAPI, Request

from gateway.api.auth import Authenticator
from gateway.domain.conversations import ConversationsService
from gateway.domain.service import ResponsesService
from gateway.logs import bind, configure_logging
from gateway.providers.registry import ProviderRegistry
from gateway.queue.sqs import SqsJobQueue
from gateway.sealing_keys import SealerLoader
from gateway.settings import Settings, get_settings
from gateway.store.factory import build_storage
from gateway.store.keys import DynamoKeyStore


@dataclass
class Services:
    settings: Settings
    responses: ResponsesService
    conversations: ConversationsService
    authenticator: Authenticator
    providers: ProviderRegistry


def build_services(settings: Settings | None = None, *, providers: ProviderRegistry | None = None) -> Services:
    """Real adapters from settings. boto3 is imported here, not at module import, to keep cold start lean."""
    import boto3

    settings = settings or get_settings()
    configure_logging(settings)
    storage = build_storage(settings)
    providers = providers or ProviderRegistry(settings)
    sealer = SealerLoader(settings)
    queue = None
    if settings.queue_url:
        queue = SqsJobQueue(settings.queue_url, boto3.client("sqs", region_name=settings.aws_region))
    return Services(
        settings=settings,
        responses=ResponsesService(
            storage.responses,
            providers,
            ttl_days=settings.ttl_days,
            queue=queue,
            events=storage.events,
            poll_seconds=settings.stream_poll_seconds,
            refuse_hosted_tools=settings.refuse_hosted_tools,
            sealer=sealer,
            conversations=storage.conversations,
        ),
        conversations=ConversationsService(storage.conversations, sealer=sealer),
        authenticator=Authenticator(settings, DynamoKeyStore(settings.table_name, storage.dynamodb)),
        providers=providers,
    )


async def authorized(request: Request) -> tuple[Services, str]:
    """The process's services (built on first use) and the tenant the request's key belongs to.

    Each route calls this first thing rather than declaring FastAPI dependencies: FastAPI's solver took 0.11 ms
    per request for these two (timed in process), a tenth of everything the gateway adds to a call. The
    header and the path parameter are read from the request for the same reason, and because a declared
    parameter makes FastAPI import pydantic.v1 (about 35 ms of every cold start) to check its type.
    """
    services: Services | None = request.app.state.services
    if services is None:
        services = await asyncio.to_thread(_services_of, request.app)
    tenant = await services.authenticator.tenant(request.headers.get("authorization"))
    bind(tenant=tenant)  # the request's later log lines, and its access line, name the tenant
    return services, tenant


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
