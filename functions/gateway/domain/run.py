"""``Run``: one model call through the engine, from ``response.created`` to one terminal event.

The HTTP routes drive it for synchronous requests and the background worker drives it for queued ones; the
only difference is how the final state is stored (``settle``): a new record for a synchronous response, a
conditional terminal write (with the terminal event) for a background one.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from gateway.domain.builder import ResponseBuilder, public_view
from gateway.domain.compaction import Compactor, summarize
from gateway.domain.context import droppable_prefix, protected_tail_start
from gateway.domain.disclosure import HIDDEN, Disclosure
from gateway.domain.failure import response_error
from gateway.domain.ports import ResponseStore, StoredResponse
from gateway.domain.tools import ToolSet
from gateway.domain.transcript import UpstreamItem, to_upstream
from gateway.domain.upstream import Finish, ModelRequest, Provider, ProviderEvent, TokenCounter, Usage
from gateway.errors import ContextLengthExceededError, GatewayError, InvalidRequestError, UpstreamError
from gateway.schemas.events import StreamEvent
from gateway.schemas.requests import ResponseCreateParams
from gateway.schemas.responses import Response
from gateway.schemas.tool_items import Compaction, ContextItem

logger = logging.getLogger("gateway")
REVEAL_REASONING = "reasoning.encrypted_content"

Settle = Callable[[Response, Sequence[StreamEvent]], Awaitable[None]]
"""Store the final response; receives the terminal events too (not yet sent) so they can be written with it."""


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
    store: ResponseStore
    ttl_seconds: int
    tools: ToolSet = field(default_factory=ToolSet)
    disclosure: Disclosure = HIDDEN
    """How reasoning state is shown to the client (sealed when ``include`` asks for it)."""
    settle: Settle | None = None
    """How the final state is stored; None stores it as a new record (synchronous requests)."""
    after_settle: Callable[[Response], Awaitable[None]] | None = None
    """Called with the final response once it is stored (a ``conversation``'s append), before the terminal event."""
    on_usage: Callable[[Response], Awaitable[None]] | None = None
    """Called with the final response once stored: settles its key's metered usage (``domain/metering.py``)."""
    compactor: Compactor = field(default_factory=lambda: Compactor(""))
    """The compaction items of the context, opened, and whether this request compacts (``domain/compaction.py``)."""
    compacted: tuple[Compaction, Usage] | None = field(default=None, init=False)
    """The compaction this run made, and what it used: the response's first output item."""
    _upstream: AsyncExitStack = field(default_factory=AsyncExitStack, init=False)
    """Holds the provider's open call; closing it (at the end of the run, however it ends) ends the call."""
    _events: AsyncIterator[ProviderEvent] | None = field(default=None, init=False)
    _live: ResponseBuilder | None = field(default=None, init=False)
    """The builder ``events`` is driving, for ``snapshot``."""

    @property
    def reveal(self) -> bool:
        return REVEAL_REASONING in (self.params.include or ())

    async def open(self) -> None:
        """Start the upstream call. Every refusal raises here, before any event is sent: client errors (4xx, 429)
        become the request's status; an ``UpstreamError`` the caller hands back to ``events``/``result`` as the
        failure the run ends with (a stream that says ``response.failed``, a stored failed response).

        A compacting request compacts here first: on its trigger (and then calls nothing else), or past its
        threshold."""
        if self.compactor.trigger or await self._over_threshold():
            await self._compact()
            if self.compactor.trigger:
                self._events = _finished()
                return
        try:
            await self._open_model()
        except ContextLengthExceededError:
            if not (self.compactor.auto and self.compactor.threshold is None and self.compacted is None):
                raise
            await self._compact()  # no threshold: compact when the context does not fit, then try again
            await self._open_model()

    async def _open_model(self) -> None:
        history, new = self._upstream_items()
        items = [*history, *new]
        protect = protected_tail_start(items, len(new), chained=bool(history))
        cuts = iter(droppable_prefix(items, protect) if self.params.truncation == "auto" else ())
        start = 0
        while True:
            request = ModelRequest(self.model, self.params.instructions, items[start:], self.params, self.tools)
            try:
                self._events = await self._upstream.enter_async_context(self.provider.open(request))
                return
            except ContextLengthExceededError:
                cut = next(cuts, None)
                if cut is None:
                    raise
                start = cut

    def _upstream_items(self) -> tuple[list[UpstreamItem], list[UpstreamItem]]:
        """The context as the model sees it: compaction items expanded, and after this run's compaction only what
        it kept."""
        new = self.input_items if self.compacted is None else [*self.input_items, self.compacted[0]]
        history, new = self.compactor.view(self.history, new)
        return to_upstream(history), to_upstream(new)

    async def _over_threshold(self) -> bool:
        threshold = self.compactor.threshold
        if not self.compactor.auto or threshold is None:
            return False
        try:
            return await self.count_input_tokens() > threshold
        except GatewayError as exc:
            # Not counted, not compacted: the call goes ahead, and a context that does not fit is still refused.
            logger.warning("compact_threshold not checked, the input tokens could not be counted: %s", exc.message)
            return False

    async def _compact(self) -> None:
        """Summarize the whole context into one sealed compaction item (the same model, through the provider)."""
        history, new = self._upstream_items()
        summary, usage = await summarize(self.provider, self.model, [*history, *new], self.params)
        item = self.compactor.seal(summary, self.thread)
        self.compactor = self.compactor.with_summary(item, summary)
        self.compacted = (item, usage)

    async def count_input_tokens(self) -> int:
        """The input ``open`` would send first, counted by the provider (``POST /v1/responses/input_tokens``).

        Built exactly as ``open`` builds its first attempt: keep the two in step."""
        if not isinstance(self.provider, TokenCounter):
            raise InvalidRequestError(f"Counting input tokens is not supported for the model '{self.params.model}'.")
        history, new = self._upstream_items()
        request = ModelRequest(self.model, self.params.instructions, [*history, *new], self.params, self.tools)
        return await self.provider.count_input_tokens(request)

    async def events(self, failure: GatewayError | None = None) -> AsyncIterator[StreamEvent]:
        """The full event sequence, ``response.created`` to one terminal event.

        If ``open`` was not called first (background work: nobody is waiting for an HTTP status), the upstream
        is opened after ``response.in_progress`` and a refusal becomes ``response.failed``.
        """
        builder = self._live = self._builder()
        for event in (*builder.start(), *builder.begin()):
            yield event
        if self._events is None and failure is None:
            try:
                await self.open()
            except GatewayError as exc:
                failure = exc
        async for event in self._drive(builder, failure):
            yield event

    async def aclose(self) -> None:
        """End the upstream call ``open`` started, if the run never got to (a stream abandoned before it began)."""
        await self._upstream.aclose()

    def snapshot(self) -> Response | None:
        """The response so far while ``events`` runs (what a poll of a background response shows); None before."""
        return self._live.snapshot() if self._live is not None else None

    async def result(self, failure: GatewayError | None = None) -> Response:
        """Run to the end and return the final response; an upstream failure is a 502 (after storing it).

        The same events as a stream, dropped as they come: one path for every mode."""
        async for _ in self.events(failure):
            pass
        assert self._live is not None
        final = self._live.response
        if final.status == "failed" and final.error is not None:
            # The upstream's own error when it failed at open (a refused credential keeps its kind), else a 502.
            raise failure or UpstreamError(final.error.message)
        return public_view(final, disclosure=self.disclosure)

    def _builder(self) -> ResponseBuilder:
        options = self.params.stream_options
        # Padding only matters on the wire: a buffered response's events are never sent.
        obfuscate = self.params.stream and (options is None or options.include_obfuscation is not False)
        return ResponseBuilder(
            self.shell, self.thread, tools=self.tools, obfuscate=obfuscate, disclosure=self.disclosure
        )

    async def _drive(self, builder: ResponseBuilder, failure: GatewayError | None) -> AsyncIterator[StreamEvent]:
        async with self._upstream:
            if self._events is None:
                error = response_error(failure or UpstreamError("The upstream call was not started."))
                terminal = builder.fail(error.code, error.message)
            else:
                if self.compacted is not None:
                    for event in builder.compacted(*self.compacted):
                        yield event
                try:
                    async for provider_event in self._events:
                        for event in builder.feed(provider_event):
                            yield event
                except UpstreamError as exc:
                    terminal = builder.fail("server_error", exc.message)
                else:
                    terminal = builder.finish()
        # Stored before the terminal event goes out, so a client that reads it can GET the response at once; then
        # its usage settled. Not both at once: a store that writes through a transaction (a background settle, a
        # conversation's append) must not race other writes in moto, which copies its tables for a transaction.
        await self._store(builder.response, terminal)
        if self.on_usage is not None:
            await self.on_usage(builder.response)
        for event in terminal:
            yield event

    async def _store(self, final: Response, terminal: Sequence[StreamEvent]) -> None:
        if self.settle is not None:
            await self.settle(final, terminal)
        else:
            await self._persist(final)
        if self.after_settle is not None:
            await self.after_settle(final)

    async def _persist(self, final: Response) -> None:
        if self.params.store:
            await self.store.put(self.record(final))

    def record(self, final: Response) -> StoredResponse:
        """The stored form of this run's final response."""
        return StoredResponse(
            tenant=self.tenant,
            id=final.id,
            thread=self.thread,
            parent=self.params.previous_response_id,
            status=final.status,
            response=final,
            input_items=self.input_items,
            expires_at=final.created_at + self.ttl_seconds,
            background=self.params.background,
            stream=self.params.stream,
            client_metadata=self.params.client_metadata,
        )


async def _finished() -> AsyncIterator[ProviderEvent]:
    """The model call of a run that only compacts: it ends at once."""
    yield Finish("stop")
