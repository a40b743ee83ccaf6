"""Fold neutral provider events into Responses stream events and, at the end, the final ``Response``.

The same builder serves every mode: its events go out as SSE (``stream: true``), are persisted for replay
(background), or are dropped while only the final state is kept (buffered). The final ``Response`` is the
builder's state, so the three modes cannot drift apart.

One item is written at a time, in the order the model produces them: text or a refusal opens (or continues)
an assistant message, a call or its arguments close the message and reasoning, reasoning closes both others.
Each kind of item has its writer (``message_writer``, ``call_writer``, ``reasoning_writer``).
"""

from __future__ import annotations

from typing import Literal, assert_never

from gateway.domain.call_writer import CallWriter
from gateway.domain.disclosure import HIDDEN, Disclosure
from gateway.domain.emitter import Emitter, Output
from gateway.domain.ids import now
from gateway.domain.message_writer import MessageWriter
from gateway.domain.reasoning_writer import ReasoningWriter
from gateway.domain.tools import ToolSet
from gateway.domain.upstream import (
    Finish,
    FinishReason,
    ProviderEvent,
    ReasoningDelta,
    ReasoningState,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)
from gateway.schemas.events import ResponseLifecycleEvent, StreamEvent
from gateway.schemas.items import ItemStatus
from gateway.schemas.responses import (
    IncompleteDetails,
    InputTokensDetails,
    OutputTokensDetails,
    Response,
    ResponseError,
    ResponseUsage,
)
from gateway.schemas.tool_items import Compaction, OutputItem


class ResponseBuilder:
    """One response's output under construction. Methods return the stream events they caused, in order."""

    def __init__(
        self,
        shell: Response,
        thread: str,
        *,
        tools: ToolSet | None = None,
        obfuscate: bool = True,
        disclosure: Disclosure = HIDDEN,
    ) -> None:
        self._shell = shell
        self._events = Emitter(obfuscate=obfuscate, disclosure=disclosure)
        self._output = Output()
        self._message = MessageWriter(self._events, self._output, thread)
        self._calls = CallWriter(self._events, self._output, thread, tools or ToolSet())
        self._reasoning = ReasoningWriter(self._events, self._output, thread)
        self._usage: Usage | None = None
        self._spent = Usage(input_tokens=0, output_tokens=0)
        """Used before the model call (a compaction), added to what the call reports."""
        self._finish: FinishReason | None = None
        self._final: Response | None = None

    # lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> list[StreamEvent]:
        """``response.created`` (and ``response.queued`` for a queued background response)."""
        self._lifecycle("response.created", self._shell)
        if self._shell.status == "queued":
            self._lifecycle("response.queued", self._shell)
        return self._events.flush()

    def begin(self) -> list[StreamEvent]:
        """``response.in_progress``: the model call is under way."""
        self._shell = self._shell.model_copy(update={"status": "in_progress"})
        self._lifecycle("response.in_progress", self._shell)
        return self._events.flush()

    def feed(self, event: ProviderEvent) -> list[StreamEvent]:
        match event:
            case TextDelta(text=text) | RefusalDelta(text=text):
                if text:
                    self._reasoning.close("completed")
                    self._calls.close("completed")
                    self._message.write("text" if isinstance(event, TextDelta) else "refusal", text)
            case ToolCallStart():
                self._message.close("completed")
                self._reasoning.close("completed")
                self._calls.start(event.index, event.call_id, event.name)
            case ToolCallDelta():
                if not self._calls.knows(event.index):
                    self._message.close("completed")
                    self._reasoning.close("completed")
                self._calls.write(event.index, event.arguments)
            case ReasoningDelta(text=text):
                if text:
                    self._message.close("completed")
                    self._calls.close("completed")
                    self._reasoning.write(text)
            case ReasoningState(encrypted_content=state):
                self._message.close("completed")
                self._calls.close("completed")
                self._reasoning.keep_state(state)
            case Usage():
                self._usage = event
            case Finish(reason=reason):
                self._finish = reason
            case _:
                assert_never(event)
        return self._events.flush()

    def compacted(self, item: Compaction, usage: Usage) -> list[StreamEvent]:
        """A compaction made before the model call: one finished output item, and what making it used."""
        index = self._output.reserve()
        self._events.item("response.output_item.added", index, item)
        self._output.fill(index, item)
        self._events.item("response.output_item.done", index, item)
        self._spent = usage
        return self._events.flush()

    def finish(self) -> list[StreamEvent]:
        """Close what is open and end with ``response.completed`` or ``response.incomplete``."""
        reason = self._finish
        if reason == "max_output_tokens" or reason == "content_filter":
            self._close_all("incomplete")
            final = self._result("incomplete", incomplete=IncompleteDetails(reason=reason))
            self._lifecycle("response.incomplete", final)
        else:
            self._close_all("completed")
            final = self._result("completed", completed_at=now())
            self._lifecycle("response.completed", final)
        return self._events.flush()

    def fail(self, code: str, message: str) -> list[StreamEvent]:
        """End with ``response.failed``; what was produced so far stays, marked incomplete."""
        self._close_all("incomplete")
        final = self._result("failed", error=ResponseError(code=code, message=message))
        self._lifecycle("response.failed", final)
        return self._events.flush()

    def snapshot(self) -> Response:
        """The response so far, as a poll of a running background response shows it: ``in_progress``, finished
        items as they are and open ones as they stand, private state kept (it is stored, and disclosed on read)."""
        open_items: dict[int, OutputItem] = {
            **self._message.snapshot(),
            **self._calls.snapshot(),
            **self._reasoning.snapshot(),
        }
        return self._shell.model_copy(update={"status": "in_progress", "output": self._output.items(open_items)})

    @property
    def response(self) -> Response:
        """The final response with private state (reasoning signatures) kept: what is stored."""
        if self._final is None:
            raise RuntimeError("the response has not finished")
        return self._final

    # assembly --------------------------------------------------------------------------------------------

    def _close_all(self, state: ItemStatus) -> None:
        self._reasoning.close(state)
        self._message.close(state)
        self._calls.close(state)

    def _result(
        self,
        status: Literal["completed", "incomplete", "failed"],
        *,
        completed_at: int | None = None,
        incomplete: IncompleteDetails | None = None,
        error: ResponseError | None = None,
    ) -> Response:
        usage = _sum(self._usage or Usage(input_tokens=0, output_tokens=0), self._spent)
        self._final = self._shell.model_copy(
            update={
                "status": status,
                "completed_at": completed_at,
                "incomplete_details": incomplete,
                "error": error,
                "output": self._output.items(),
                "usage": ResponseUsage(
                    input_tokens=usage.input_tokens,
                    input_tokens_details=InputTokensDetails(
                        cached_tokens=usage.cached_tokens, cache_write_tokens=usage.cache_write_tokens
                    ),
                    output_tokens=usage.output_tokens,
                    output_tokens_details=OutputTokensDetails(reasoning_tokens=usage.reasoning_tokens),
                    total_tokens=usage.input_tokens + usage.output_tokens,
                ),
            }
        )
        return self._final

    def _lifecycle(self, kind: str, response: Response) -> None:
        shown = self._events.disclosure.response(response)
        self._events.push(ResponseLifecycleEvent(type=kind, sequence_number=self._events.next(), response=shown))


def _sum(first: Usage, second: Usage) -> Usage:
    return Usage(
        input_tokens=first.input_tokens + second.input_tokens,
        output_tokens=first.output_tokens + second.output_tokens,
        cached_tokens=first.cached_tokens + second.cached_tokens,
        cache_write_tokens=first.cache_write_tokens + second.cache_write_tokens,
        reasoning_tokens=first.reasoning_tokens + second.reasoning_tokens,
    )


def public_view(response: Response, *, reveal: bool = False, disclosure: Disclosure | None = None) -> Response:
    """The response as a client sees it: reasoning state only with ``include: reasoning.encrypted_content``,
    and then sealed (``disclosure``); ``reveal=False`` alone hides it."""
    if disclosure is None:
        if reveal:
            raise ValueError("revealing reasoning state needs a disclosure that seals it")
        disclosure = HIDDEN
    return disclosure.response(response)
