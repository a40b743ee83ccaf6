"""The storage ports as the engine awaits them: each adapter's blocking boto3 call runs on a worker thread.

boto3 is synchronous. The DynamoDB adapters (``dynamodb.py``, ``events.py``, ``conversations.py``, ``slots.py``)
stay plain blocking code, testable as such; these wrappers are what the composition root hands the engine, so the
thread hop is the adapter layer's business and the domain only ever awaits its ports (``domain/ports.py``).
"""

from __future__ import annotations

from asyncio import to_thread
from collections.abc import Sequence

from gateway.domain.ports import Guard, StoredConversation, StoredResponse
from gateway.schemas.events import StreamEvent
from gateway.schemas.responses import Response
from gateway.schemas.tool_items import ContextItem
from gateway.store.conversations import DynamoConversationStore
from gateway.store.dynamodb import DynamoResponseStore
from gateway.store.events import DynamoEventLog
from gateway.store.slots import DynamoTenantSlots


class ThreadedResponseStore:
    def __init__(self, store: DynamoResponseStore) -> None:
        self.blocking = store

    async def put(self, record: StoredResponse) -> None:
        await to_thread(self.blocking.put, record)

    async def get(self, tenant: str, response_id: str) -> StoredResponse | None:
        return await to_thread(self.blocking.get, tenant, response_id)

    async def chain(self, tenant: str, response_id: str) -> list[StoredResponse]:
        return await to_thread(self.blocking.chain, tenant, response_id)

    async def find_items(self, tenant: str, item_ids: Sequence[str]) -> dict[str, ContextItem]:
        return await to_thread(self.blocking.find_items, tenant, item_ids)

    async def delete(self, tenant: str, response_id: str) -> None:
        await to_thread(self.blocking.delete, tenant, response_id)

    async def claim(
        self, record: StoredResponse, guard: Guard, *, now: float, response: Response, failures: int = 0
    ) -> StoredResponse | None:
        return await to_thread(
            lambda: self.blocking.claim(record, guard, now=now, response=response, failures=failures)
        )

    async def heartbeat(
        self, tenant: str, response_id: str, attempt: int, *, now: float, snapshot: Response | None
    ) -> bool:
        return await to_thread(
            lambda: self.blocking.heartbeat(tenant, response_id, attempt, now=now, snapshot=snapshot)
        )

    async def release(self, tenant: str, response_id: str, attempt: int, *, failed: bool) -> None:
        await to_thread(lambda: self.blocking.release(tenant, response_id, attempt, failed=failed))

    async def settle(self, record: StoredResponse, guard: Guard, events: Sequence[StreamEvent] = ()) -> bool:
        return await to_thread(self.blocking.settle, record, guard, events)


class ThreadedEventLog:
    def __init__(self, log: DynamoEventLog) -> None:
        self.blocking = log

    async def append(
        self, tenant: str, response_id: str, attempt: int, events: Sequence[StreamEvent], expires_at: int
    ) -> None:
        await to_thread(self.blocking.append, tenant, response_id, attempt, events, expires_at)

    async def read(self, tenant: str, response_id: str, attempt: int, after: int) -> list[StreamEvent]:
        return await to_thread(self.blocking.read, tenant, response_id, attempt, after)

    async def last_sequence(self, tenant: str, response_id: str, attempt: int) -> int:
        return await to_thread(self.blocking.last_sequence, tenant, response_id, attempt)


class ThreadedConversationStore:
    def __init__(self, store: DynamoConversationStore) -> None:
        self.blocking = store

    async def create(self, record: StoredConversation, items: Sequence[ContextItem]) -> None:
        await to_thread(self.blocking.create, record, items)

    async def get(self, tenant: str, conversation_id: str) -> StoredConversation | None:
        return await to_thread(self.blocking.get, tenant, conversation_id)

    async def load(self, tenant: str, conversation_id: str) -> tuple[StoredConversation, list[ContextItem]] | None:
        return await to_thread(self.blocking.load, tenant, conversation_id)

    async def find(
        self, tenant: str, conversation_id: str, item_id: str
    ) -> tuple[StoredConversation, ContextItem | None] | None:
        return await to_thread(self.blocking.find, tenant, conversation_id, item_id)

    async def update(self, tenant: str, conversation_id: str, metadata: dict[str, str]) -> StoredConversation | None:
        return await to_thread(self.blocking.update, tenant, conversation_id, metadata)

    async def append(self, tenant: str, conversation_id: str, items: Sequence[ContextItem]) -> bool:
        return await to_thread(self.blocking.append, tenant, conversation_id, items)

    async def delete(self, tenant: str, conversation_id: str) -> bool:
        return await to_thread(self.blocking.delete, tenant, conversation_id)

    async def delete_item(self, tenant: str, conversation_id: str, item_id: str) -> bool:
        return await to_thread(self.blocking.delete_item, tenant, conversation_id, item_id)


class ThreadedTenantSlots:
    def __init__(self, slots: DynamoTenantSlots) -> None:
        self.blocking = slots

    async def acquire(self, tenant: str, holder: str, *, limit: int, now: float, until: float) -> int | None:
        return await to_thread(lambda: self.blocking.acquire(tenant, holder, limit=limit, now=now, until=until))

    async def renew(self, tenant: str, slot: int, holder: str, *, until: float) -> bool:
        return await to_thread(lambda: self.blocking.renew(tenant, slot, holder, until=until))

    async def release(self, tenant: str, slot: int, holder: str) -> None:
        await to_thread(self.blocking.release, tenant, slot, holder)
