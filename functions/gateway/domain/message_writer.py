"""The assistant message being written: its text and refusal parts and their events.

output_item.added ─► content_part.added ─► output_text.delta … ─► output_text.done ─► content_part.done
                     (a refusal part the same way, with refusal.delta / .done) ─► output_item.done
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from gateway.domain.emitter import Emitter, Output
from gateway.domain.ids import new_id
from gateway.schemas.events import OutputTextDeltaEvent, OutputTextDoneEvent, RefusalDeltaEvent, RefusalDoneEvent
from gateway.schemas.items import ItemStatus, Message, OutputText, Refusal

PartKind = Literal["text", "refusal"]


@dataclass(slots=True)
class _OpenMessage:
    index: int
    id: str
    parts: list[OutputText | Refusal] = field(default_factory=list)
    kind: PartKind | None = None
    chunks: list[str] = field(default_factory=list)


class MessageWriter:
    def __init__(self, events: Emitter, output: Output, thread: str) -> None:
        self._events = events
        self._output = output
        self._thread = thread
        self._open: _OpenMessage | None = None

    def write(self, kind: PartKind, delta: str) -> None:
        message = self._open or self._start()
        if message.kind != kind:
            self._close_part(message)
            self._open_part(message, kind)
        message.chunks.append(delta)
        seq, content_index = self._events.next(), len(message.parts)
        pad = self._events.padding(delta)
        if kind == "text":
            self._events.push(
                OutputTextDeltaEvent.model_construct(
                    sequence_number=seq,
                    item_id=message.id,
                    output_index=message.index,
                    content_index=content_index,
                    delta=delta,
                    logprobs=[],
                    obfuscation=pad,
                )
            )
        else:
            self._events.push(
                RefusalDeltaEvent.model_construct(
                    sequence_number=seq,
                    item_id=message.id,
                    output_index=message.index,
                    content_index=content_index,
                    delta=delta,
                    obfuscation=pad,
                )
            )

    def snapshot(self) -> dict[int, Message]:
        """The open message as it stands: its finished parts and the one being written."""
        message = self._open
        if message is None:
            return {}
        parts = list(message.parts)
        if message.kind is not None:
            text = "".join(message.chunks)
            parts.append(OutputText(text=text) if message.kind == "text" else Refusal(refusal=text))
        return {message.index: Message(id=message.id, role="assistant", status="in_progress", content=parts)}

    def close(self, state: ItemStatus) -> None:
        message = self._open
        if message is None:
            return
        self._close_part(message)
        item = Message(id=message.id, role="assistant", status=state, content=list(message.parts))
        self._output.fill(message.index, item)
        self._events.item("response.output_item.done", message.index, item)
        self._open = None

    def _start(self) -> _OpenMessage:
        message = _OpenMessage(index=self._output.reserve(), id=new_id("msg", self._thread))
        self._open = message
        item = Message(id=message.id, role="assistant", status="in_progress", content=[])
        self._events.item("response.output_item.added", message.index, item)
        return message

    def _open_part(self, message: _OpenMessage, kind: PartKind) -> None:
        message.kind = kind
        message.chunks = []
        part: OutputText | Refusal = OutputText(text="") if kind == "text" else Refusal(refusal="")
        self._events.part("response.content_part.added", message.id, message.index, len(message.parts), part)

    def _close_part(self, message: _OpenMessage) -> None:
        if message.kind is None:
            return
        text = "".join(message.chunks)
        content_index = len(message.parts)
        part: OutputText | Refusal
        if message.kind == "text":
            part = OutputText(text=text)
            self._events.push(
                OutputTextDoneEvent(
                    sequence_number=self._events.next(),
                    item_id=message.id,
                    output_index=message.index,
                    content_index=content_index,
                    text=text,
                )
            )
        else:
            part = Refusal(refusal=text)
            self._events.push(
                RefusalDoneEvent(
                    sequence_number=self._events.next(),
                    item_id=message.id,
                    output_index=message.index,
                    content_index=content_index,
                    refusal=text,
                )
            )
        self._events.part("response.content_part.done", message.id, message.index, content_index, part)
        message.parts.append(part)
        message.kind = None
