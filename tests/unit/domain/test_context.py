"""Context assembly: ``input`` becomes stored, id-carrying items; ``truncation: auto`` cuts only whole turns."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from gateway.domain.context import droppable_prefix, normalize_input, protected_tail_start, referenced_ids
from gateway.domain.ids import new_thread, thread_of
from gateway.errors import NotFoundError
from gateway.schemas.items import FunctionCall, FunctionCallOutput, InputText, Message, OutputText
from gateway.schemas.tool_items import ContextItem, InputItem

THREAD = "ab" * 12
_INPUT: TypeAdapter[list[InputItem]] = TypeAdapter(list[InputItem])


def parse(*items: dict[str, Any]) -> list[InputItem]:
    """Items as a client sends them, validated as the request schema does."""
    return _INPUT.validate_python(list(items))


def normalize(*items: dict[str, Any], referenced: dict[str, ContextItem] | None = None) -> list[ContextItem]:
    return normalize_input(parse(*items), THREAD, referenced or {})


def user(text: str) -> Message:
    return Message(role="user", content=[InputText(text=text)])


def assistant(text: str) -> Message:
    return Message(role="assistant", content=[OutputText(text=text)])


def call(call_id: str) -> FunctionCall:
    return FunctionCall(call_id=call_id, name="f", arguments="{}")


def result(call_id: str) -> FunctionCallOutput:
    return FunctionCallOutput(call_id=call_id, output="ok")


# normalize_input ---------------------------------------------------------------------------------------------


def test_no_input_is_no_items() -> None:
    assert normalize_input(None, THREAD, {}) == []


def test_a_string_is_one_completed_user_message_in_the_thread() -> None:
    [item] = normalize_input("Hello", THREAD, {})
    assert isinstance(item, Message) and item.id is not None
    assert item.model_dump(exclude={"id"}) == {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "Hello"}],
        "status": "completed",
    }
    assert item.id.startswith("msg_") and thread_of(item.id) == THREAD


@pytest.mark.parametrize(
    ("role", "part"),
    [("user", "input_text"), ("system", "input_text"), ("developer", "input_text"), ("assistant", "output_text")],
)
def test_string_content_becomes_one_part_of_the_roles_kind(role: str, part: str) -> None:
    [item] = normalize({"role": role, "content": "text"})
    assert item.model_dump()["content"][0] == {"type": part, "text": "text"} | (
        {"annotations": [], "logprobs": []} if part == "output_text" else {}
    )


def test_part_lists_are_kept_as_sent() -> None:
    parts = [{"type": "input_text", "text": "a"}, {"type": "input_image", "image_url": "https://x/y.png"}]
    [item] = normalize({"role": "user", "content": parts})
    assert [part["type"] for part in item.model_dump()["content"]] == ["input_text", "input_image"]


@pytest.mark.parametrize(
    ("item", "prefix"),
    [
        ({"role": "user", "content": "hi"}, "msg"),
        ({"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}, "fc"),
        ({"type": "function_call_output", "call_id": "c", "output": "ok"}, "fco"),
        ({"type": "reasoning", "summary": []}, "rs"),
        ({"type": "custom_tool_call", "call_id": "c", "name": "t", "input": "x"}, "ctc"),
        ({"type": "custom_tool_call_output", "call_id": "c", "output": "ok"}, "ctco"),
        ({"type": "local_shell_call", "call_id": "c", "action": {"type": "exec", "command": ["ls"]}}, "lsh"),
        ({"type": "shell_call", "call_id": "c", "action": {"commands": ["ls"]}}, "sh"),
        ({"type": "shell_call_output", "call_id": "c", "output": []}, "sho"),
        ({"type": "apply_patch_call", "call_id": "c", "operation": {"type": "delete_file", "path": "a"}}, "apc"),
        ({"type": "apply_patch_call_output", "call_id": "c", "status": "completed"}, "apco"),
        ({"type": "tool_search_call"}, "tsc"),
        ({"type": "tool_search_output"}, "tso"),
        ({"type": "additional_tools"}, "at"),
    ],
)
def test_an_item_without_id_gets_one_of_its_kind_in_the_thread(item: dict[str, Any], prefix: str) -> None:
    [stored] = normalize(item)
    assert stored.id is not None
    assert stored.id.split("_")[0] == prefix
    assert thread_of(stored.id) == THREAD


def test_ids_are_unique_and_a_clients_own_id_is_kept() -> None:
    items = normalize(
        {"role": "user", "content": "a"},
        {"role": "user", "content": "b"},
        {"id": "msg_mine", "role": "user", "content": "c"},
    )
    assert items[0].id != items[1].id
    assert items[2].id == "msg_mine"


def test_a_missing_status_is_completed_and_a_given_one_kept() -> None:
    first, second = normalize(
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"type": "function_call", "call_id": "d", "name": "f", "arguments": "{", "status": "incomplete"},
    )
    assert (first.status, second.status) == ("completed", "incomplete")  # type: ignore[union-attr]


def test_a_local_shell_output_names_its_call_by_its_id() -> None:
    [item] = normalize({"type": "local_shell_call_output", "id": "call_7", "output": "ok"})
    assert item.model_dump()["call_id"] == "call_7"


def test_references_are_resolved_in_place() -> None:
    earlier = Message(id="msg_old", role="assistant", content=[OutputText(text="before")], status="completed")
    raw = parse({"role": "user", "content": "a"}, {"type": "item_reference", "id": "msg_old"}, {"id": "msg_old"})
    assert referenced_ids(raw) == ["msg_old", "msg_old"]
    items = normalize_input(raw, THREAD, {"msg_old": earlier})
    assert [item.id for item in items[1:]] == ["msg_old", "msg_old"]
    assert items[1] == earlier and items[2] == earlier


def test_only_references_are_fetched() -> None:
    assert referenced_ids("hello") == []
    assert referenced_ids(None) == []
    assert referenced_ids(parse({"role": "user", "content": "a"})) == []


def test_an_unknown_reference_is_a_404_on_input() -> None:
    with pytest.raises(NotFoundError) as caught:
        normalize({"type": "item_reference", "id": "msg_gone"}, referenced={"msg_other": user("x")})
    assert caught.value.status_code == 404
    assert caught.value.param == "input"
    assert "msg_gone" in caught.value.message and "store" in caught.value.message


# truncation ---------------------------------------------------------------------------------------------------


def test_cuts_double_on_a_history_of_user_turns() -> None:
    history = [user(str(n)) for n in range(20)]
    # nothing protected (a chained request without input): the last cut still leaves one item to send
    assert list(droppable_prefix(history, 20)) == [1, 3, 7, 15, 19]


def test_cuts_land_on_user_turns_and_never_split_a_call_from_its_output() -> None:
    history: list[ContextItem] = [
        user("q1"), assistant("a1"),  # 0, 1
        user("q2"), call("c1"), result("c1"), assistant("a2"),  # 2-5
        user("q3"), call("c2"), result("c2"),  # 6-8
        user("q4"),  # 9
    ]  # fmt: skip
    cuts = list(droppable_prefix(history, 9))
    assert cuts == [2, 6, 9]
    for cut in cuts[:-1]:
        assert isinstance(history[cut], Message) and history[cut].role == "user"  # type: ignore[union-attr]


def test_cuts_never_reach_into_the_protected_tail() -> None:
    history: list[ContextItem] = [user("q1"), assistant("a1"), assistant("a2"), assistant("a3"), user("new")]
    assert list(droppable_prefix(history, 3)) == [3]  # no user turn before the tail: drop all that may go
    assert max(droppable_prefix([user(str(n)) for n in range(100)], 37)) == 37


def test_no_cut_leaves_a_tool_output_without_its_call() -> None:
    history: list[ContextItem] = [user("list the files"), call("c1")]
    new: list[ContextItem] = [result("c1")]
    items = [*history, *new]
    for cut in droppable_prefix(items, protected_tail_start(items, len(new), chained=True)):
        kept = items[cut:]
        calls = {item.call_id for item in kept if isinstance(item, FunctionCall)}
        assert all(item.call_id in calls for item in kept if isinstance(item, FunctionCallOutput))


def test_nothing_to_drop_when_everything_is_protected() -> None:
    assert list(droppable_prefix([user("only")], 0)) == []


def test_a_chained_request_protects_its_own_input() -> None:
    items: list[ContextItem] = [user("q1"), assistant("a1"), result("c"), user("q2")]
    assert protected_tail_start(items, 2, chained=True) == 2
    assert protected_tail_start(items, 0, chained=True) == 4


def test_a_stateless_request_protects_from_its_last_user_message() -> None:
    items: list[ContextItem] = [user("q1"), assistant("a1"), user("q2"), call("c"), result("c")]
    assert protected_tail_start(items, 5, chained=False) == 2


def test_without_a_user_message_only_the_last_item_is_protected() -> None:
    items: list[ContextItem] = [assistant("a1"), call("c"), result("c")]
    assert protected_tail_start(items, 3, chained=False) == 2
    assert protected_tail_start([], 0, chained=False) == 0


def test_a_fresh_thread_is_24_hex() -> None:
    thread = new_thread()
    assert len(thread) == 24 and int(thread, 16) >= 0
    [item] = normalize_input("x", thread, {})
    assert item.id is not None and thread_of(item.id) == thread
