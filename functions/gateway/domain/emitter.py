"""What the output writers share: the event sequence under construction and the slots of ``output``.

``Emitter`` numbers events (``sequence_number`` 0, 1, 2 …) and collects them until the builder hands them out
(a buffered response's are built too, and dropped: one path for every mode). ``Output`` holds the items
in the order they were opened, each slot filled when its item is done, so ``output_index`` is the append order.
"""

from __future__ import annotations

import secrets

from gateway.domain.disclosure import Disclosure
from gateway.schemas.events import ContentPartEvent, OutputItemEvent, StreamEvent
from gateway.schemas.items import OutputText, ReasoningText, Refusal
from gateway.schemas.tool_items import OutputItem

Part = OutputText | Refusal | ReasoningText


class Emitter:
    def __init__(self, *, obfuscate: bool, disclosure: Disclosure) -> None:
        self.disclosure = disclosure
        self._obfuscate = obfuscate
        self._seq = 0
        self._events: list[StreamEvent] = []

    def next(self) -> int:
        number = self._seq
        self._seq += 1
        return number

    def push(self, event: StreamEvent) -> None:
        self._events.append(event)

    def flush(self) -> list[StreamEvent]:
        events, self._events = self._events, []
        return events

    def padding(self, delta: str) -> str | None:
        """Random characters that round a delta's length up to a multiple of 16 (length side channel)."""
        return secrets.token_urlsafe(12)[: 16 - len(delta) % 16] if self._obfuscate else None

    def item(self, kind: str, index: int, item: OutputItem) -> None:
        """``response.output_item.added`` / ``.done``; private reasoning state is shown only as disclosed."""
        shown = self.disclosure.item(item)
        self.push(OutputItemEvent(type=kind, sequence_number=self.next(), output_index=index, item=shown))

    def part(self, kind: str, item_id: str, index: int, content_index: int, part: Part) -> None:
        """``response.content_part.added`` / ``.done``."""
        self.push(
            ContentPartEvent(
                type=kind,
                sequence_number=self.next(),
                item_id=item_id,
                output_index=index,
                content_index=content_index,
                part=part,
            )
        )


class Output:
    """The ``output`` list: a slot per item, reserved when the item opens and filled when it is done."""

    def __init__(self) -> None:
        self._slots: list[OutputItem | None] = []

    def reserve(self) -> int:
        self._slots.append(None)
        return len(self._slots) - 1

    def fill(self, index: int, item: OutputItem) -> None:
        self._slots[index] = item

    def items(self, open_items: dict[int, OutputItem] | None = None) -> list[OutputItem]:
        """The finished items in order; with ``open_items`` (by slot), the unfinished ones where they stand."""
        shown = open_items or {}
        return [item for index, slot in enumerate(self._slots) if (item := slot or shown.get(index)) is not None]
