"""page(): OpenAI's list paging of input items — order, cursors by item id, limit and has_more."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from gateway.domain.paging import page
from gateway.errors import InvalidRequestError
from gateway.schemas.responses import ItemList

ITEMS = [{"id": f"msg_{n}", "type": "message"} for n in range(1, 6)]
"""Five items, oldest first (msg_1 … msg_5)."""


def ids(
    *,
    limit: int = 20,
    order: Literal["asc", "desc"] = "asc",
    after: str | None = None,
    before: str | None = None,
    items: list[dict[str, Any]] | None = None,
) -> tuple[list[str], ItemList]:
    result = page(ITEMS if items is None else items, limit=limit, order=order, after=after, before=before)
    return [item["id"] for item in result.data], result


def test_ascending_is_oldest_first_and_descending_newest_first() -> None:
    assert ids(order="asc")[0] == ["msg_1", "msg_2", "msg_3", "msg_4", "msg_5"]
    assert ids(order="desc")[0] == ["msg_5", "msg_4", "msg_3", "msg_2", "msg_1"]


def test_a_page_names_its_first_and_last_item() -> None:
    _, result = ids(order="desc", limit=2)
    assert (result.first_id, result.last_id) == ("msg_5", "msg_4")


@pytest.mark.parametrize(
    ("limit", "expected", "has_more"),
    [
        (2, ["msg_1", "msg_2"], True),
        (4, ["msg_1", "msg_2", "msg_3", "msg_4"], True),
        (5, [f"msg_{n}" for n in range(1, 6)], False),
        (9, [f"msg_{n}" for n in range(1, 6)], False),
    ],
)
def test_limit_and_has_more(limit: int, expected: list[str], has_more: bool) -> None:
    got, result = ids(limit=limit)
    assert got == expected
    assert result.has_more is has_more


def test_after_is_exclusive_and_follows_the_order() -> None:
    assert ids(after="msg_2")[0] == ["msg_3", "msg_4", "msg_5"]
    assert ids(order="desc", after="msg_4")[0] == ["msg_3", "msg_2", "msg_1"]


def test_before_is_exclusive_and_follows_the_order() -> None:
    assert ids(before="msg_3")[0] == ["msg_1", "msg_2"]
    assert ids(order="desc", before="msg_2")[0] == ["msg_5", "msg_4", "msg_3"]


def test_after_and_before_together_bound_a_window() -> None:
    got, result = ids(after="msg_1", before="msg_5", limit=2)
    assert got == ["msg_2", "msg_3"]
    assert result.has_more is True  # msg_4 is still inside the window
    got, result = ids(after="msg_1", before="msg_5", limit=3)
    assert got == ["msg_2", "msg_3", "msg_4"]
    assert result.has_more is False  # msg_5 lies beyond `before`, so it does not count


def test_walking_pages_with_after_visits_every_item_once() -> None:
    seen: list[str] = []
    cursor: str | None = None
    while True:
        got, result = ids(order="desc", limit=2, after=cursor)
        seen += got
        if not result.has_more:
            break
        cursor = result.last_id
    assert seen == ["msg_5", "msg_4", "msg_3", "msg_2", "msg_1"]


@pytest.mark.parametrize("param", ["after", "before"])
def test_an_unknown_cursor_is_a_400_naming_its_param(param: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        page(ITEMS, limit=20, order="asc", **{"after": None, "before": None, param: "msg_404"})
    assert caught.value.status_code == 400
    assert caught.value.param == param
    assert "msg_404" in caught.value.message


@pytest.mark.parametrize(
    "kwargs", [{"items": []}, {"after": "msg_5"}, {"order": "desc", "after": "msg_1"}, {"before": "msg_1"}]
)
def test_an_empty_page(kwargs: dict[str, Any]) -> None:
    got, result = ids(**kwargs)
    assert got == []
    assert (result.first_id, result.last_id, result.has_more) == (None, None, False)
    # OpenAI's ResponseItemList types both ids as strings: an empty page sends "" rather than null
    assert result.model_dump(mode="json")["first_id"] == ""
