"""One page of a list of items, the way OpenAI pages them: ``limit``, ``order``, and cursors by item id."""

from __future__ import annotations

from typing import Any, Literal

from gateway.errors import InvalidRequestError
from gateway.schemas.responses import ItemList


def page(
    items: list[dict[str, Any]],
    *,
    limit: int,
    order: Literal["asc", "desc"],
    after: str | None,
    before: str | None,
) -> ItemList:
    """``items`` oldest first; the page after ``after`` (and before ``before``) in ``order``."""
    ordered = items[::-1] if order == "desc" else list(items)
    if after is not None:
        ordered = ordered[_position(ordered, after, "after") + 1 :]
    if before is not None:
        ordered = ordered[: _position(ordered, before, "before")]
    chosen = ordered[:limit]
    return ItemList(
        data=chosen,
        first_id=chosen[0]["id"] if chosen else None,
        last_id=chosen[-1]["id"] if chosen else None,
        has_more=len(ordered) > limit,
    )


def _position(items: list[dict[str, Any]], item_id: str, param: str) -> int:
    for index, item in enumerate(items):
        if item.get("id") == item_id:
            return index
    raise InvalidRequestError(f"No input item with id '{item_id}' in this response.", param=param)
