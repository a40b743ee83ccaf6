"""Turn a request's ``input`` into stored, id-carrying items and check that the assembled context is sound."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from gateway.domain.ids import new_id
from gateway.errors import NotFoundError
from gateway.schemas.items import ContentPart, FunctionCallOutput, InputText, ItemReference, Message, OutputText
from gateway.schemas.tool_items import CompactionTrigger, ContextItem, InputItem, LocalShellCallOutput

_PREFIX: Mapping[str, str] = {
    "message": "msg",
    "function_call": "fc",
    "function_call_output": "fco",
    "reasoning": "rs",
    "custom_tool_call": "ctc",
    "custom_tool_call_output": "ctco",
    "local_shell_call": "lsh",
    "shell_call": "sh",
    "shell_call_output": "sho",
    "apply_patch_call": "apc",
    "apply_patch_call_output": "apco",
    "tool_search_call": "tsc",
    "tool_search_output": "tso",
    "additional_tools": "at",
    "compaction": "cmp",
}
"""Id prefixes of items the gateway names (an item a client sends without an id gets one on storing)."""


def referenced_ids(raw: str | list[InputItem] | None) -> list[str]:
    """Ids named by ``item_reference`` items, to be fetched before ``normalize_input``."""
    if not isinstance(raw, list):
        return []
    return [item.id for item in raw if isinstance(item, ItemReference)]


def normalize_input(
    raw: str | list[InputItem] | None, thread: str, referenced: Mapping[str, ContextItem]
) -> list[ContextItem]:
    """String input becomes one user message; string contents become parts; every item gets an id."""
    if raw is None:
        return []
    if isinstance(raw, str):
        return [Message(id=new_id("msg", thread), role="user", content=[InputText(text=raw)], status="completed")]
    items: list[ContextItem] = []
    for item in raw:
        if isinstance(item, ItemReference):
            items.append(_resolve(item.id, referenced))
            continue
        if isinstance(item, CompactionTrigger):
            continue  # a request to compact (``domain/compaction.py``), not part of the context
        if isinstance(item, Message) and isinstance(item.content, str):
            item = item.model_copy(update={"content": _parts_of(item.role, item.content)})
        prefix = _PREFIX.get(item.type)
        if item.id is None and prefix is not None:
            item = item.model_copy(update={"id": new_id(prefix, thread)})
        if getattr(item, "status", "") is None:
            # Stored items are listed as OpenAI's item resources, which always carry a status.
            item = item.model_copy(update={"status": "completed"})
        if isinstance(item, LocalShellCallOutput) and item.call_id is None:
            item = item.model_copy(update={"call_id": item.id})
        items.append(item)
    return items


def _parts_of(role: str, text: str) -> list[ContentPart]:
    return [OutputText(text=text)] if role == "assistant" else [InputText(text=text)]


def _resolve(item_id: str, referenced: Mapping[str, ContextItem]) -> ContextItem:
    found = referenced.get(item_id)
    if found is None:
        raise NotFoundError(
            f"Item with id '{item_id}' not found. Items are not persisted when `store` is set to false. "
            "Try again with `store` set to true, or remove this item from your input.",
            param="input",
        )
    return found


def droppable_prefix(items: Sequence[ContextItem], protected_from: int) -> Iterable[int]:
    """Cut points for ``truncation: auto``: how many of the oldest items to drop, smallest first.

    Cuts double each time (1, 2, 4, ...) so a long history needs only a few upstream attempts, land on the start
    of a user turn (chat templates want the conversation to open with the user, and a call is never split
    from its output), and never reach into the protected tail (this request's own input). The tail's own start is
    a cut too, unless it opens with a tool result, whose call must stay.
    """
    cuts = [
        index for index in range(1, min(protected_from, len(items) - 1) + 1) if _may_open(items, index, protected_from)
    ]
    cut, step = 0, 1
    while True:
        target = min(cut + step, protected_from)
        later = [candidate for candidate in cuts if candidate > cut]
        if not later:
            return
        cut = next((candidate for candidate in later if candidate >= target), later[-1])
        yield cut
        step *= 2


def _may_open(items: Sequence[ContextItem], index: int, protected_from: int) -> bool:
    """Whether the context may start at ``items[index]`` once the items before it are dropped."""
    item = items[index]
    return _starts_turn(item) or (index == protected_from and not isinstance(item, FunctionCallOutput))


def _starts_turn(item: ContextItem) -> bool:
    return isinstance(item, Message) and item.role == "user"


def protected_tail_start(items: Sequence[ContextItem], new_count: int, chained: bool) -> int:
    """Where the part ``truncation`` must keep begins: this request's input, or its last user message."""
    if chained:
        return len(items) - new_count
    for index in range(len(items) - 1, -1, -1):
        candidate = items[index]
        if isinstance(candidate, Message) and candidate.role == "user":
            return index
    return max(len(items) - 1, 0)
