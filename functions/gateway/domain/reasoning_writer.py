"""The reasoning item being written: the text the model shows is its ``content``, never an invented summary.

output_item.added ─► content_part.added (reasoning_text) ─► reasoning_text.delta … ─► reasoning_text.done
                  ─► content_part.done ─► output_item.done (with the provider's state in encrypted_content)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.domain.emitter import Emitter, Output
from gateway.domain.ids import new_id
from gateway.schemas.events import ReasoningTextDeltaEvent, ReasoningTextDoneEvent
from gateway.schemas.items import ItemStatus, Reasoning, ReasoningText


@dataclass(slots=True)
class _OpenReasoning:
    index: int
    id: str
    chunks: list[str] = field(default_factory=list)
    has_text: bool = False
    encrypted_content: str | None = None


class ReasoningWriter:
    def __init__(self, events: Emitter, output: Output, thread: str) -> None:
        self._events = events
        self._output = output
        self._thread = thread
        self._open: _OpenReasoning | None = None

    @property
    def active(self) -> bool:
        return self._open is not None

    def write(self, delta: str) -> None:
        reasoning = self._start()
        if not reasoning.has_text:
            reasoning.has_text = True
            self._events.part("response.content_part.added", reasoning.id, reasoning.index, 0, ReasoningText(text=""))
        reasoning.chunks.append(delta)
        self._events.push(
            ReasoningTextDeltaEvent.model_construct(
                sequence_number=self._events.next(),
                item_id=reasoning.id,
                output_index=reasoning.index,
                content_index=0,
                delta=delta,
            )
        )

    def keep_state(self, encrypted_content: str) -> None:
        """The provider's opaque state for this reasoning (a signature, redacted thinking)."""
        self._start().encrypted_content = encrypted_content

    def snapshot(self) -> dict[int, Reasoning]:
        """The open reasoning as it stands (its text so far, and any provider state already known)."""
        reasoning = self._open
        if reasoning is None:
            return {}
        content = [ReasoningText(text="".join(reasoning.chunks))] if reasoning.has_text else None
        item = Reasoning(
            id=reasoning.id, content=content, encrypted_content=reasoning.encrypted_content, status="in_progress"
        )
        return {reasoning.index: item}

    def close(self, state: ItemStatus) -> None:
        reasoning = self._open
        if reasoning is None:
            return
        content: list[ReasoningText] | None = None
        if reasoning.has_text:
            text = "".join(reasoning.chunks)
            self._events.push(
                ReasoningTextDoneEvent(
                    sequence_number=self._events.next(),
                    item_id=reasoning.id,
                    output_index=reasoning.index,
                    content_index=0,
                    text=text,
                )
            )
            self._events.part("response.content_part.done", reasoning.id, reasoning.index, 0, ReasoningText(text=text))
            content = [ReasoningText(text=text)]
        item = Reasoning(id=reasoning.id, content=content, encrypted_content=reasoning.encrypted_content, status=state)
        self._output.fill(reasoning.index, item)
        self._events.item("response.output_item.done", reasoning.index, item)
        self._open = None

    def _start(self) -> _OpenReasoning:
        if self._open is None:
            self._open = _OpenReasoning(index=self._output.reserve(), id=new_id("rs", self._thread))
            item = Reasoning(id=self._open.id, status="in_progress")
            self._events.item("response.output_item.added", self._open.index, item)
        return self._open
