"""The one place real adapters are built from settings: the engine both the API and the background worker run.

boto3 and the adapters are imported here, when the first request or job builds the engine, not at module import,
so cold start stays lean and moto's mocks are in place before any client exists. The engine gets the storage
adapters through ``store/threaded.py``: their blocking calls run on worker threads, never on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.domain.metering import Metering
from gateway.domain.service import ResponsesService
from gateway.logs import configure_logging
from gateway.providers.registry import ProviderRegistry
from gateway.queue.sqs import SqsJobQueue
from gateway.sealing_keys import SealerLoader
from gateway.settings import Settings
from gateway.store.factory import Storage, build_storage
from gateway.store.threaded import ThreadedConversationStore, ThreadedEventLog, ThreadedResponseStore
from gateway.store.usage import DynamoUsage, ThreadedMeter


@dataclass
class Engine:
    settings: Settings
    storage: Storage
    providers: ProviderRegistry
    sealer: SealerLoader
    queue: SqsJobQueue | None
    """The jobs queue: where the API enqueues background work, and what the worker holds its messages in."""
    responses: ResponsesService
    usage: DynamoUsage
    """Limit counters and the usage ledger (``store/usage.py``)."""


def build_engine(settings: Settings, *, providers: ProviderRegistry | None = None) -> Engine:
    import boto3

    configure_logging(settings)
    storage = build_storage(settings)
    providers = providers or ProviderRegistry(settings)
    sealer = SealerLoader(settings)
    usage = DynamoUsage(settings.table_name, storage.dynamodb, namespace=settings.metrics_namespace)
    queue = None
    if settings.queue_url:
        queue = SqsJobQueue(settings.queue_url, boto3.client("sqs", region_name=settings.aws_region))
    responses = ResponsesService(
        ThreadedResponseStore(storage.responses),
        providers,
        ttl_days=settings.ttl_days,
        queue=queue,
        events=ThreadedEventLog(storage.events),
        poll_seconds=settings.stream_poll_seconds,
        refuse_hosted_tools=settings.refuse_hosted_tools,
        sealer=sealer,
        conversations=ThreadedConversationStore(storage.conversations),
        metering=Metering(ThreadedMeter(usage), token_reserve=settings.token_reserve),
    )
    return Engine(settings, storage, providers, sealer, queue, responses, usage)
