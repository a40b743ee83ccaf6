"""Use cases of the Conversations API, and what a response created with ``conversation`` takes from it.

A conversation is a durable list of items (``ConversationStore``; its storage design is in
``store/conversations.py``). A response created with ``conversation`` gets the conversation's items as its history
(as ``previous_response_id`` gives the chain's) and, once it settles, its input and output are appended. Which
settled responses append: OpenAI's spec says "Input items and output items from this response are automatically
added to this conversation after this response completes". The gateway appends for ``completed`` and
``incomplete`` (the model did answer, if cut short) and appends nothing for ``failed`` or ``cancelled``: the turn
did not happen, and the client can send it again without the conversation holding a dangling user message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from gateway.domain.context import normalize_input
from gateway.domain.disclosure import Discloser, Disclosure, SealerSource, needs_opening, open_sealed
from gateway.domain.ids import new_id, new_thread, now, thread_of
from gateway.domain.paging import page
from gateway.domain.ports import ConversationStore, StoredConversation
from gateway.domain.run import REVEAL_REASONING
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.schemas.conversations import Conversation
from gateway.schemas.requests import ConversationRef
from gateway.schemas.responses import ItemList, Response
from gateway.schemas.tool_items import ContextItem, InputItem

logger = logging.getLogger("gateway")
APPENDS: frozenset[str] = frozenset({"completed", "incomplete"})
"""The settled statuses whose input and output join the conversation (see the module docstring)."""


def conversation_id(value: str | ConversationRef | None) -> str | None:
    """The id a create's ``conversation`` names (a string or ``{"id"}``)."""
    return value.id if isinstance(value, ConversationRef) else value


def not_found(conversation: str) -> NotFoundError:
    return NotFoundError(f"Conversation with id '{conversation}' not found.")


async def history_of(store: ConversationStore | None, tenant: str, conversation: str) -> list[ContextItem]:
    """The conversation's items, the context of a response created with it (one Query whatever its length)."""
    loaded = await store.load(tenant, conversation) if store is not None and thread_of(conversation) else None
    if loaded is None:
        raise NotFoundError(f"Conversation with id '{conversation}' not found.", param="conversation")
    return loaded[1]


def appender(
    store: ConversationStore, tenant: str, conversation: str, input_items: Sequence[ContextItem]
) -> Callable[[Response], Awaitable[None]]:
    """``Run.after_settle`` for a response in ``conversation``: append its input and output once it settles."""

    async def append(final: Response) -> None:
        if final.status not in APPENDS:
            return
        if not await store.append(tenant, conversation, [*input_items, *final.output]):
            # Deleted while the response ran: the response stands, the conversation stays deleted.
            logger.info("conversation %s was deleted before response %s settled", conversation, final.id)

    return append


class ConversationsService:
    def __init__(self, store: ConversationStore, *, sealer: SealerSource | None = None) -> None:
        self._store = store
        self._discloser = Discloser(sealer)

    async def create(self, tenant: str, items: Sequence[InputItem], metadata: dict[str, str]) -> Conversation:
        thread = new_thread()
        record = StoredConversation(tenant, new_id("conv", thread), now(), metadata)
        await self._store.create(record, await self._normalize(tenant, items, thread))
        return _public(record)

    async def retrieve(self, tenant: str, conversation: str) -> Conversation:
        return _public(await self._meta(tenant, conversation))

    async def update(self, tenant: str, conversation: str, metadata: dict[str, str]) -> Conversation:
        record = await self._store.update(tenant, conversation, metadata) if thread_of(conversation) else None
        if record is None:
            raise not_found(conversation)
        return _public(record)

    async def delete(self, tenant: str, conversation: str) -> None:
        if thread_of(conversation) is None or not await self._store.delete(tenant, conversation):
            raise not_found(conversation)

    async def add_items(
        self, tenant: str, conversation: str, items: Sequence[InputItem], include: Sequence[str]
    ) -> ItemList:
        thread = thread_of(conversation)
        if thread is None:
            raise not_found(conversation)
        added = await self._normalize(tenant, items, thread)
        if not await self._store.append(tenant, conversation, added):
            raise not_found(conversation)
        disclosure = await self._disclosure(tenant, include)
        return page(
            [_dump(disclosure.item(item)) for item in added],
            limit=len(added) or 1,
            order="asc",
            after=None,
            before=None,
        )

    async def list_items(
        self,
        tenant: str,
        conversation: str,
        *,
        limit: int,
        order: Literal["asc", "desc"],
        after: str | None,
        include: Sequence[str],
    ) -> ItemList:
        loaded = await self._store.load(tenant, conversation) if thread_of(conversation) else None
        if loaded is None:
            raise not_found(conversation)
        disclosure = await self._disclosure(tenant, include)
        if after is not None and all(item.id != after for item in loaded[1]):
            raise InvalidRequestError(f"No item with id '{after}' in this conversation.", param="after")
        items = [_dump(disclosure.item(item)) for item in loaded[1]]
        return page(items, limit=limit, order=order, after=after, before=None)

    async def get_item(self, tenant: str, conversation: str, item_id: str, include: Sequence[str]) -> ContextItem:
        found = await self._store.find(tenant, conversation, item_id) if thread_of(conversation) else None
        if found is None:
            raise not_found(conversation)
        if found[1] is None:
            raise NotFoundError(f"Item with id '{item_id}' not found.")
        return (await self._disclosure(tenant, include)).item(found[1])

    async def delete_item(self, tenant: str, conversation: str, item_id: str) -> Conversation:
        record = await self._meta(tenant, conversation)
        if not await self._store.delete_item(tenant, conversation, item_id):
            raise NotFoundError(f"Item with id '{item_id}' not found.")
        return _public(record)

    async def _meta(self, tenant: str, conversation: str) -> StoredConversation:
        record = await self._store.get(tenant, conversation) if thread_of(conversation) else None
        if record is None:
            raise not_found(conversation)
        return record

    async def _normalize(self, tenant: str, items: Sequence[InputItem], thread: str) -> list[ContextItem]:
        """Items as a create's input becomes them: ids given, string contents as parts, sealed state opened."""
        raw = list(items)
        if needs_opening(raw):
            raw = open_sealed(raw, tenant, await self._discloser.sealer())
        return normalize_input(raw, thread, {})

    async def _disclosure(self, tenant: str, include: Sequence[str]) -> Disclosure:
        return await self._discloser.disclosure(tenant, REVEAL_REASONING in include)


def _public(record: StoredConversation) -> Conversation:
    return Conversation(id=record.id, created_at=record.created_at, metadata=record.metadata)


def _dump(item: ContextItem) -> dict[str, object]:
    dumped: dict[str, object] = item.model_dump(mode="json")
    return dumped
