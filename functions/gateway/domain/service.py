"""Use cases: create (streamed or buffered), retrieve, delete, list input items. Ports only, no HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, ParamSpec, TypeVar

import anyio.to_thread

from gateway.domain.builder import ResponseBuilder, public_view
from gateway.domain.context import (
    check_tool_pairing,
    droppable_prefix,
    normalize_input,
    protected_tail_start,
    referenced_ids,
)
from gateway.domain.echo import response_shell
from gateway.domain.ids import new_id, new_thread
from gateway.domain.status import IN_FLIGHT
from gateway.domain.validation import check_create
from gateway.errors import ContextLengthExceededError, InvalidRequestError, NotFoundError, UpstreamError
from gateway.providers.base import ModelRequest, Provider, ProviderStream
from gateway.providers.registry import ProviderRegistry
from gateway.schemas.events import StreamEvent
from gateway.schemas.items import ContextItem
from gateway.schemas.requests import ResponseCreateParams
from gateway.schemas.responses import ItemList, Response
from gateway.store.base import ResponseStore, StoredResponse, dump_items

P = ParamSpec("P")
T = TypeVar("T")
REVEAL_REASONING = "reasoning.encrypted_content"


async def _io(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Blocking adapter calls (boto3) run on a worker thread so the event loop keeps streaming."""
    return await anyio.to_thread.run_sync(lambda: call(*args, **kwargs))


@dataclass
class Run:
    """One prepared model call: context resolved and checked, upstream not yet opened."""

    tenant: str
    params: ResponseCreateParams
    provider: Provider
    model: str
    thread: str
    shell: Response
    history: list[ContextItem]
    input_items: list[ContextItem]
    store: ResponseStore | None
    ttl_seconds: int
    _stream: ProviderStream | None = field(default=None, init=False)
    _open_error: UpstreamError | None = field(default=None, init=False)

    @property
    def reveal(self) -> bool:
        return REVEAL_REASONING in (self.params.include or ())

    async def open(self) -> None:
        """Start the upstream call. Client errors (4xx, 429) raise here, before any event is sent."""
        items = [*self.history, *self.input_items]
        protect = protected_tail_start(items, len(self.input_items), chained=bool(self.history))
        cuts = iter(droppable_prefix(items, protect) if self.params.truncation == "auto" else ())
        start = 0
        while True:
            request = ModelRequest(self.model, self.params.instructions, items[start:], self.params)
            try:
                self._stream = await self.provider.open(request)
                return
            except ContextLengthExceededError:
                cut = next(cuts, None)
                if cut is None:
                    raise
                start = cut
            except UpstreamError as exc:
                self._open_error = exc
                return

    async def events(self) -> AsyncIterator[StreamEvent]:
        """The full event sequence, ``response.created`` to one terminal event."""
        builder = self._builder(emit=True)
        for event in (*builder.start(), *builder.begin()):
            yield event
        async for event in self._drive(builder):
            yield event

    async def result(self) -> Response:
        """Run to the end and return the final response; an upstream failure is a 502 (after storing it)."""
        builder = self._builder(emit=False)
        builder.start()
        builder.begin()
        async for _ in self._drive(builder):
            pass
        final = builder.response
        if final.status == "failed" and final.error is not None:
            raise UpstreamError(final.error.message)
        return public_view(final, reveal=self.reveal)

    def _builder(self, *, emit: bool) -> ResponseBuilder:
        options = self.params.stream_options
        obfuscate = options is None or options.include_obfuscation is not False
        return ResponseBuilder(self.shell, self.thread, emit=emit, obfuscate=obfuscate, reveal=self.reveal)

    async def _drive(self, builder: ResponseBuilder) -> AsyncIterator[StreamEvent]:
        stream = self._stream
        if stream is None:
            error = self._open_error or UpstreamError("The upstream call was not started.")
            terminal = builder.fail("server_error", error.message)
        else:
            try:
                async for provider_event in stream.events:
                    for event in builder.feed(provider_event):
                        yield event
            except UpstreamError as exc:
                terminal = builder.fail("server_error", exc.message)
            else:
                terminal = builder.finish()
            finally:
                await stream.aclose()
        # Stored before the terminal event goes out, so a client that reads it can GET the response at once.
        await self._persist(builder.response)
        for event in terminal:
            yield event

    async def _persist(self, final: Response) -> None:
        if self.store is None or not self.params.store:
            return
        record = StoredResponse(
            tenant=self.tenant,
            id=final.id,
            thread=self.thread,
            parent=self.params.previous_response_id,
            status=final.status,
            response_json=final.model_dump_json(),
            input_json=dump_items(self.input_items),
            expires_at=final.created_at + self.ttl_seconds,
            background=self.params.background,
            stream=self.params.stream,
        )
        await _io(self.store.put, record)


class ResponsesService:
    """The engine's entry points, shared by the HTTP routes and the background worker."""

    def __init__(self, store: ResponseStore, providers: ProviderRegistry, *, ttl_days: int) -> None:
        self._store = store
        self._providers = providers
        self._ttl_seconds = ttl_days * 86_400

    async def prepare(self, tenant: str, params: ResponseCreateParams) -> Run:
        """Validate, resolve the conversation and route the model; nothing is sent upstream yet."""
        check_create(params)
        if params.background:
            raise InvalidRequestError(
                "Background responses are not enabled on this deployment.",
                param="background",
                code="unsupported_parameter",
            )
        assert params.model is not None  # checked above
        provider, model = self._providers.resolve(params.model)
        lineage = await self._lineage(tenant, params.previous_response_id)
        thread = lineage[-1].thread if lineage else new_thread()
        history = [item for record in lineage for item in record.context_items()]
        referenced = await self._referenced(tenant, referenced_ids(params.input), history)
        input_items = normalize_input(params.input, thread, referenced)
        check_tool_pairing(history, input_items)
        return Run(
            tenant=tenant,
            params=params,
            provider=provider,
            model=model,
            thread=thread,
            shell=response_shell(params, new_id("resp", thread), "in_progress"),
            history=history,
            input_items=input_items,
            store=self._store,
            ttl_seconds=self._ttl_seconds,
        )

    async def retrieve(self, tenant: str, response_id: str, include: Sequence[str] = ()) -> Response:
        record = await self._record(tenant, response_id)
        return public_view(record.response, reveal=REVEAL_REASONING in include)

    async def cancel(self, tenant: str, response_id: str) -> Response:
        record = await self._record(tenant, response_id)
        if not record.background:
            raise InvalidRequestError("Only responses created with background=true can be cancelled.")
        raise InvalidRequestError(f"Cannot cancel a {record.status} response.")

    async def delete(self, tenant: str, response_id: str) -> None:
        await _io(self._store.delete, tenant, response_id)

    async def input_items(
        self,
        tenant: str,
        response_id: str,
        *,
        limit: int,
        order: Literal["asc", "desc"],
        after: str | None,
        before: str | None,
    ) -> ItemList:
        record = await self._record(tenant, response_id)
        items = [item.model_dump(mode="json") for item in record.input_items]
        if order == "desc":
            items.reverse()
        ids = [item.get("id") for item in items]
        if after is not None:
            items = items[_position(ids, after, "after") + 1 :]
        if before is not None:
            items = items[: _position([item.get("id") for item in items], before, "before")]
        page = items[:limit]
        return ItemList(
            data=page,
            first_id=page[0]["id"] if page else None,
            last_id=page[-1]["id"] if page else None,
            has_more=len(items) > limit,
        )

    async def _record(self, tenant: str, response_id: str) -> StoredResponse:
        record = await _io(self._store.get, tenant, response_id)
        if record is None:
            raise NotFoundError(f"Response with id '{response_id}' not found.")
        return record

    async def _lineage(self, tenant: str, previous_id: str | None) -> list[StoredResponse]:
        if previous_id is None:
            return []
        lineage = await _io(self._store.chain, tenant, previous_id)
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
            known.update(await _io(self._store.find_items, tenant, missing))
        return {key: value for key, value in known.items() if key is not None}


def _position(ids: list[str | None], item_id: str, param: str) -> int:
    try:
        return ids.index(item_id)
    except ValueError:
        raise InvalidRequestError(f"No input item with id '{item_id}' in this response.", param=param) from None
