"""Use cases: create (streamed, buffered or background), retrieve, replay, cancel, delete, list input items.

Ports only, no HTTP. The background worker drives the same ``Run`` (see ``resume``) as the routes do.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Literal, TypeVar

from gateway.domain.builder import ResponseBuilder, public_view
from gateway.domain.compaction import compact_request, compacted_response, compactor_for
from gateway.domain.context import normalize_input, referenced_ids
from gateway.domain.conversations import appender, conversation_id, history_of
from gateway.domain.disclosure import HIDDEN, Discloser, Disclosure, SealerSource, needs_opening, open_sealed
from gateway.domain.echo import response_shell
from gateway.domain.ids import new_id, new_thread
from gateway.domain.lifecycle import close_partial, live, queued_shell, rewritten
from gateway.domain.limits import Reservation
from gateway.domain.metering import Metering
from gateway.domain.paging import page
from gateway.domain.ports import (
    BackgroundJob,
    ConversationStore,
    EventLog,
    Guard,
    JobQueue,
    ResponseStore,
    StoredResponse,
)
from gateway.domain.replay import follow
from gateway.domain.run import REVEAL_REASONING, Run, Settle
from gateway.domain.sealing import Sealer
from gateway.domain.status import IN_FLIGHT, can_move
from gateway.domain.tools import build_toolset
from gateway.domain.transcript import check_tool_pairing
from gateway.domain.upstream import ProviderResolver
from gateway.domain.validation import check_create
from gateway.errors import InvalidRequestError, NotFoundError
from gateway.schemas.events import StreamEvent
from gateway.schemas.requests import ResponseCompactParams, ResponseCreateParams
from gateway.schemas.responses import CompactedResponse, ItemList, Response, ResponseError, ResponseStatus
from gateway.schemas.tool_items import ContextItem

__all__ = ["ResponsesService", "Run"]

Overlay = TypeVar("Overlay", bound=ResponseStore)


_NOT_STREAMABLE = "This response cannot be streamed because it was not created with background=true and stream=true."


class ResponsesService:
    """The engine's entry points, shared by the HTTP routes and the background worker."""

    def __init__(
        self,
        store: ResponseStore,
        providers: ProviderResolver,
        *,
        ttl_days: int,
        queue: JobQueue | None = None,
        events: EventLog | None = None,
        poll_seconds: float = 0.25,
        refuse_hosted_tools: bool = False,
        sealer: SealerSource | None = None,
        conversations: ConversationStore | None = None,
        metering: Metering | None = None,
    ) -> None:
        self._store = store
        self._conversations = conversations
        self._providers = providers
        self._ttl_seconds = ttl_days * 86_400
        self._queue = queue
        self._events = events
        self._poll_seconds = poll_seconds
        self._refuse_hosted_tools = refuse_hosted_tools
        self._discloser = Discloser(sealer)
        self.metering = metering or Metering(None, token_reserve=1)

    def reading_through(self, overlay: Callable[[ResponseStore], Overlay]) -> tuple[ResponsesService, Overlay]:
        """This service with ``overlay(store)`` in its store's place, and that overlay: a WebSocket connection's
        own responses in front of the stored ones (``api/ws_cache.py``)."""
        scoped = copy.copy(self)
        scoped._store = layer = overlay(self._store)
        return scoped, layer

    async def prepare(self, tenant: str, params: ResponseCreateParams) -> Run:
        """Validate, resolve the conversation and route the model; nothing is sent upstream yet."""
        check_create(params)
        if params.background and (self._queue is None or self._events is None):
            raise InvalidRequestError(
                "Background responses are not enabled on this deployment (no jobs queue: RESPONSES_QUEUE_URL).",
                param="background",
                code="unsupported_parameter",
            )
        assert params.model is not None  # checked above
        provider, model = self._providers.resolve(params.model)
        lineage, history, conversation = await self._inherited(tenant, params)
        thread = lineage[-1].thread if lineage else new_thread()
        referenced = await self._referenced(tenant, referenced_ids(params.input), history)
        raw = params.input if isinstance(params.input, list) else []
        sealer = await self._sealer_for(params, raw)
        # Only what the client sent is opened: referenced and inherited items come from the store, unsealed.
        sent = open_sealed(raw, tenant, sealer) if raw else params.input
        input_items = normalize_input(sent, thread, referenced)
        check_tool_pairing(history, input_items)
        tools = build_toolset(params, [*history, *input_items], refuse_hosted=self._refuse_hosted_tools)
        compactor = await compactor_for(tenant, params, [*history, *input_items], self._discloser.sealer)
        status: ResponseStatus = "queued" if params.background else "in_progress"
        return Run(
            tenant=tenant,
            params=params,
            provider=provider,
            model=model,
            thread=thread,
            shell=_in_conversation(response_shell(params, new_id("resp", thread), status), conversation),
            history=history,
            input_items=input_items,
            store=self._store,
            ttl_seconds=self._ttl_seconds,
            tools=tools,
            disclosure=Disclosure(tenant, sealer) if _reveals(params) else HIDDEN,
            after_settle=self._appender(tenant, conversation, input_items),
            compactor=compactor,
        )

    def _appender(
        self, tenant: str, conversation: str | None, input_items: list[ContextItem]
    ) -> Callable[[Response], Awaitable[None]] | None:
        if conversation is None or self._conversations is None:
            return None
        return appender(self._conversations, tenant, conversation, input_items)

    async def _sealer_for(self, params: ResponseCreateParams, items: Sequence[object]) -> Sealer | None:
        """The sealer, loaded only when this request reveals reasoning state or sends sealed state back."""
        return await self._discloser.sealer() if _reveals(params) or needs_opening(items) else None

    async def count_input_tokens(self, tenant: str, params: ResponseCreateParams) -> int:
        """``POST /v1/responses/input_tokens``: the context a create with ``params`` would send, counted.

        Prepared as a create is (same checks, routing, history and references); nothing is stored."""
        run = await self.prepare(tenant, params)
        return await run.count_input_tokens()

    async def prepare_compact(self, tenant: str, params: ResponseCompactParams) -> Run:
        """``POST /v1/responses/compact`` is prepared as a create ending in ``compaction_trigger``."""
        return await self.prepare(tenant, compact_request(params))

    async def compact(self, run: Run) -> CompactedResponse:
        response = await run.result()
        return compacted_response(response, [*run.history, *run.input_items])

    async def submit(self, run: Run, reservation: Reservation | None = None) -> Response:
        """Store a prepared background response ``queued`` (with its input and request) and enqueue its job."""
        assert self._queue is not None and self._events is not None  # checked by prepare
        shell, params = run.shell, run.params
        record = StoredResponse(
            tenant=run.tenant,
            id=shell.id,
            thread=run.thread,
            parent=params.previous_response_id,
            status="queued",
            response=shell,
            input_items=run.input_items,
            expires_at=shell.created_at + self._ttl_seconds,
            background=True,
            stream=params.stream,
            request=params,
            client_metadata=params.client_metadata,
            reservation=reservation,
        )
        await self._store.put(record)
        if params.stream:
            # Attempt 0 holds what every attempt starts with, so a replay has something to show at once.
            opening = ResponseBuilder(shell, run.thread, disclosure=run.disclosure).start()
            await self._events.append(run.tenant, shell.id, 0, opening, record.expires_at)
        try:
            await self._queue.enqueue(BackgroundJob(tenant=run.tenant, response_id=shell.id))
        except Exception:
            # Without its job the response would stay queued forever: fail it, then report the fault (500).
            error = ResponseError(code="server_error", message="The background job could not be queued.")
            failed = close_partial(shell, "failed", error)
            await self._store.settle(rewritten(record, failed), Guard(frozenset({"queued"})))
            raise
        return public_view(shell, disclosure=run.disclosure)

    async def resume(self, record: StoredResponse, settle: Settle) -> Run:
        """The ``Run`` of a stored background response, as ``prepare`` built it (same id, thread and input)."""
        params = record.request or ResponseCreateParams()
        assert params.model is not None  # a stored request passed check_create
        provider, model = self._providers.resolve(params.model)
        _, history, conversation = await self._inherited(record.tenant, params)
        run = Run(
            tenant=record.tenant,
            params=params,
            provider=provider,
            model=model,
            thread=record.thread,
            shell=queued_shell(record.response),
            history=history,
            input_items=record.input_items,
            store=self._store,
            ttl_seconds=self._ttl_seconds,
            tools=build_toolset(params, [*history, *record.input_items], refuse_hosted=self._refuse_hosted_tools),
            disclosure=await self._discloser.disclosure(record.tenant, _reveals(params)),
            settle=settle,
            after_settle=self._appender(record.tenant, conversation, record.input_items),
            compactor=await compactor_for(
                record.tenant, params, [*history, *record.input_items], self._discloser.sealer
            ),
        )
        if record.reservation is not None:
            self.metering.attach(run, record.reservation)
        return run

    async def retrieve(self, tenant: str, response_id: str, include: Sequence[str] = ()) -> Response:
        record = await self._record(tenant, response_id)
        return public_view(
            live(record), disclosure=await self._discloser.disclosure(tenant, REVEAL_REASONING in include)
        )

    async def replay(self, tenant: str, response_id: str, starting_after: int | None) -> AsyncIterator[StreamEvent]:
        """The stored events of a background+stream response after ``starting_after``, then live ones.

        Checked here, before the first event, so refusals are plain HTTP errors.
        """
        record = await self._record(tenant, response_id)
        if not (record.background and record.stream) or self._events is None:
            raise InvalidRequestError(_NOT_STREAMABLE, param="stream")
        after = -1 if starting_after is None else starting_after
        return follow(self._store, self._events, record, after, self._poll_seconds)

    async def cancel(self, tenant: str, response_id: str) -> Response:
        """Queued or in progress -> cancelled (keeping the output so far); idempotent once cancelled."""
        record = await self._record(tenant, response_id)
        if not record.background:
            raise InvalidRequestError("Only responses created with background=true can be cancelled.")
        while True:
            if record.status == "cancelled":
                return public_view(record.response, reveal=False)
            if not can_move(record.status, "cancelled"):
                raise InvalidRequestError(f"Cannot cancel a {record.status} response.")
            cancelled = rewritten(record, close_partial(live(record), "cancelled"))
            # Guarded on the status just read: if the worker settles first, re-read and answer for that.
            if await self._store.settle(cancelled, Guard(frozenset({record.status}))):
                if record.status == "queued" and record.reservation is not None:
                    await self.metering.release(record.reservation)  # no worker will run it, so none settles it
                return public_view(cancelled.response, reveal=False)
            record = await self._record(tenant, response_id)

    async def delete(self, tenant: str, response_id: str) -> None:
        await self._store.delete(tenant, response_id)

    async def input_items(
        self,
        tenant: str,
        response_id: str,
        *,
        limit: int,
        order: Literal["asc", "desc"],
        after: str | None,
        before: str | None,
        include: Sequence[str] = (),
    ) -> ItemList:
        record = await self._record(tenant, response_id)
        disclosure = await self._discloser.disclosure(tenant, REVEAL_REASONING in include)
        items = [disclosure.item(item).model_dump(mode="json") for item in record.input_items]
        return page(items, limit=limit, order=order, after=after, before=before)

    async def _record(self, tenant: str, response_id: str) -> StoredResponse:
        record = await self._store.get(tenant, response_id)
        if record is None:
            raise NotFoundError(f"Response with id '{response_id}' not found.")
        return record

    async def _inherited(
        self, tenant: str, params: ResponseCreateParams
    ) -> tuple[list[StoredResponse], list[ContextItem], str | None]:
        """The chain at ``previous_response_id`` (or none), the history it or the ``conversation`` gives, and the
        conversation's id."""
        lineage = await self._lineage(tenant, params.previous_response_id)
        history = [item for record in lineage for item in record.context_items()]
        conversation = conversation_id(params.conversation)
        if conversation is not None:
            history = await history_of(self._conversations, tenant, conversation)
        return lineage, history, conversation

    async def _lineage(self, tenant: str, previous_id: str | None) -> list[StoredResponse]:
        if previous_id is None:
            return []
        lineage = await self._store.chain(tenant, previous_id)
        if not lineage or lineage[-1].id != previous_id:
            raise InvalidRequestError(
                f"Previous response with id '{previous_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
            )
        if lineage[-1].status in IN_FLIGHT:
            raise InvalidRequestError(
                f"Previous response with id '{previous_id}' is still in progress.",
                param="previous_response_id",
            )
        return lineage

    async def _referenced(self, tenant: str, ids: list[str], history: list[ContextItem]) -> dict[str, ContextItem]:
        if not ids:
            return {}
        known = {item.id: item for item in history if item.id in ids}
        missing = [item_id for item_id in ids if item_id not in known]
        if missing:
            known.update(await self._store.find_items(tenant, missing))
        return {key: value for key, value in known.items() if key is not None}


def _reveals(params: ResponseCreateParams) -> bool:
    return REVEAL_REASONING in (params.include or ())


def _in_conversation(shell: Response, conversation: str | None) -> Response:
    return shell if conversation is None else shell.model_copy(update={"conversation": {"id": conversation}})
