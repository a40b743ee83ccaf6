"""The output writers and what they share (emitter, message_writer, call_writer, reasoning_writer), driven directly.

What test_builder.py shows through the builder (item kinds, reasoning disclosure, built-in calls) is not repeated
here; this covers numbering, slots, part indexes, parallel calls, custom input at the end, and obfuscation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from gateway.domain.call_writer import CallWriter
from gateway.domain.disclosure import HIDDEN
from gateway.domain.emitter import Emitter, Output
from gateway.domain.ids import thread_of
from gateway.domain.message_writer import MessageWriter
from gateway.domain.reasoning_writer import ReasoningWriter
from gateway.domain.tools import ToolSet, UpstreamTool
from gateway.schemas.events import StreamEvent

THREAD = "fe" * 12
PATCH = UpstreamTool("patch", "custom", "patch", None, None, strict=False)


@dataclass
class Writers:
    events: Emitter
    output: Output
    message: MessageWriter
    calls: CallWriter
    reasoning: ReasoningWriter
    sent: list[StreamEvent] = field(default_factory=list)

    def flush(self) -> list[dict[str, Any]]:
        batch = self.events.flush()
        self.sent += batch
        return [event.model_dump() for event in batch]


def writers(*, obfuscate: bool = False, tools: tuple[UpstreamTool, ...] = ()) -> Writers:
    events = Emitter(obfuscate=obfuscate, disclosure=HIDDEN)
    output = Output()
    toolset = ToolSet(known={tool.name: tool for tool in tools})
    return Writers(
        events,
        output,
        MessageWriter(events, output, THREAD),
        CallWriter(events, output, THREAD, toolset),
        ReasoningWriter(events, output, THREAD),
    )


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [event for event in events if event["type"] == kind]


# emitter ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [0, 1, 5, 15, 16, 17, 31, 32, 100])
def test_padding_rounds_a_delta_up_to_a_multiple_of_16(length: int) -> None:
    pad = writers(obfuscate=True).events.padding("x" * length)
    assert pad is not None and re.fullmatch(r"[A-Za-z0-9_-]+", pad)
    assert (length + len(pad)) % 16 == 0
    assert 1 <= len(pad) <= 16  # a delta already on the boundary still gets a full block, so no length shows


def test_padding_is_random() -> None:
    events = writers(obfuscate=True).events
    assert len({events.padding("") for _ in range(8)}) == 8


def test_no_padding_when_not_asked_for() -> None:
    assert writers(obfuscate=False).events.padding("abc") is None


def test_text_refusal_and_argument_deltas_carry_padding() -> None:
    w = writers(obfuscate=True)
    w.message.write("text", "Hello")
    w.message.write("refusal", "No thanks, really")
    w.calls.start(0, "c", "f")
    w.calls.write(0, '{"a": 1}')
    deltas = [e for e in w.flush() if e["type"].endswith(".delta")]
    assert [e["type"] for e in deltas] == [
        "response.output_text.delta",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
    ]
    for event in deltas:
        assert (len(event["delta"]) + len(event["obfuscation"])) % 16 == 0


def test_sequence_numbers_count_every_event_once_in_order() -> None:
    w = writers(tools=(PATCH,))
    w.reasoning.write("hmm")
    w.reasoning.close("completed")
    w.message.write("text", "a")
    w.message.write("refusal", "b")
    w.message.close("completed")
    w.calls.start(0, "c1", "patch")
    w.calls.write(0, '{"input": "x')
    w.calls.write(0, 'y"}')
    w.calls.close("completed")
    numbers = [e["sequence_number"] for e in w.flush()]
    assert numbers == list(range(len(numbers))) and len(numbers) > 15


def test_output_keeps_the_order_items_opened_in_whatever_order_they_close() -> None:
    w = writers()
    w.message.write("text", "first")
    w.calls.start(0, "c1", "f")
    w.calls.close("completed")
    assert [item.type for item in w.output.items()] == ["function_call"]  # the message is still open
    w.message.close("completed")
    assert [item.type for item in w.output.items()] == ["message", "function_call"]
    done = of(w.flush(), "response.output_item.done")
    assert [(e["item"]["type"], e["output_index"]) for e in done] == [("function_call", 1), ("message", 0)]


# message ------------------------------------------------------------------------------------------------------


def test_each_switch_between_text_and_refusal_is_a_new_part() -> None:
    w = writers()
    for kind, text in [("text", "a"), ("text", "b"), ("refusal", "no"), ("text", "c")]:
        w.message.write(kind, text)  # type: ignore[arg-type]
    w.message.close("incomplete")
    events = w.flush()
    assert [e["content_index"] for e in of(events, "response.output_text.delta")] == [0, 0, 2]
    assert [e["content_index"] for e in of(events, "response.refusal.delta")] == [1]
    assert [(e["content_index"], e["text"]) for e in of(events, "response.output_text.done")] == [(0, "ab"), (2, "c")]
    added = of(events, "response.content_part.added")
    assert [(e["content_index"], e["part"]["type"]) for e in added] == [
        (0, "output_text"),
        (1, "refusal"),
        (2, "output_text"),
    ]
    [message] = w.output.items()
    dumped = message.model_dump()
    assert dumped["status"] == "incomplete"
    assert [part.get("text", part.get("refusal")) for part in dumped["content"]] == ["ab", "no", "c"]
    assert message.id is not None and message.id.startswith("msg_") and thread_of(message.id) == THREAD


def test_closing_what_never_opened_does_nothing() -> None:
    w = writers()
    w.message.close("completed")
    w.calls.close("completed")
    w.reasoning.close("completed")
    assert w.flush() == [] and w.output.items() == []


# calls --------------------------------------------------------------------------------------------------------


def test_parallel_calls_take_their_deltas_by_index_and_close_in_output_order() -> None:
    w = writers()
    w.calls.start(1, "c_b", "second")
    w.calls.start(0, "c_a", "first")
    for index, delta in [(0, '{"x"'), (1, '{"y"'), (0, ": 1}"), (1, ": 2}")]:
        w.calls.write(index, delta)
    w.calls.write(0, "")  # an empty delta is no event
    w.calls.close("completed")
    events = w.flush()
    assert len(of(events, "response.function_call_arguments.delta")) == 4
    done = of(events, "response.function_call_arguments.done")
    assert [(e["output_index"], e["name"], e["arguments"]) for e in done] == [
        (0, "second", '{"y": 2}'),
        (1, "first", '{"x": 1}'),
    ]
    assert [item.call_id for item in w.output.items()] == ["c_b", "c_a"]  # type: ignore[union-attr]
    assert not w.calls.active


def test_arguments_for_an_unannounced_call_open_it_nameless() -> None:
    w = writers()
    w.calls.write(4, "{}")
    assert w.calls.knows(4) and w.calls.active
    w.calls.close("completed")
    [call] = w.output.items()
    assert call.name == "" and call.arguments == "{}"  # type: ignore[union-attr]
    assert call.call_id.startswith("call_") and thread_of(call.call_id) == THREAD  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [('{"patch": "+a\\n+b"}', "+a\n+b"), ("*** Begin Patch", "*** Begin Patch")],
)
def test_custom_input_known_only_at_the_end_is_sent_as_one_delta(arguments: str, expected: str) -> None:
    w = writers(tools=(PATCH,))
    w.calls.start(0, "c", "patch")
    w.calls.write(0, arguments[:6])
    w.calls.write(0, arguments[6:])
    streamed = of(w.flush(), "response.custom_tool_call_input.delta")
    assert streamed == []  # nothing can be known to be the input until the arguments are complete
    w.calls.close("completed")
    events = w.flush()
    assert [e["delta"] for e in of(events, "response.custom_tool_call_input.delta")] == [expected]
    assert [e["input"] for e in of(events, "response.custom_tool_call_input.done")] == [expected]


def test_custom_input_is_never_sent_twice() -> None:
    w = writers(tools=(PATCH,))
    w.calls.start(0, "c", "patch")
    for piece in ['{"input": "ab', 'c"', "}"]:
        w.calls.write(0, piece)
    w.calls.close("completed")
    events = w.flush()
    assert [e["delta"] for e in of(events, "response.custom_tool_call_input.delta")] == ["ab", "c"]


# reasoning ----------------------------------------------------------------------------------------------------


def test_state_alone_is_a_reasoning_item_without_content_or_parts() -> None:
    w = writers()
    w.reasoning.keep_state("sig")
    assert w.reasoning.active
    w.reasoning.close("completed")
    events = w.flush()
    assert of(events, "response.content_part.added") == []
    [item] = w.output.items()
    assert (item.content, item.encrypted_content) == (None, "sig")  # type: ignore[union-attr]
    [done] = of(events, "response.output_item.done")
    assert "encrypted_content" not in done["item"]  # shown as disclosed (hidden here), kept in the output


def test_state_and_text_in_any_order_make_one_item() -> None:
    w = writers()
    w.reasoning.keep_state("sig")
    w.reasoning.write("a")
    w.reasoning.write("b")
    w.reasoning.close("incomplete")
    [item] = w.output.items()
    assert item.model_dump(exclude={"id"}) == {
        "type": "reasoning",
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "ab"}],
        "encrypted_content": "sig",
        "status": "incomplete",
    }
    assert len(of(w.flush(), "response.output_item.added")) == 1


# buffered mode ------------------------------------------------------------------------------------------------


def _script(w: Writers) -> None:
    w.reasoning.write("think")
    w.reasoning.keep_state("sig")
    w.reasoning.close("completed")
    w.message.write("text", "Hi")
    w.message.write("refusal", "no")
    w.message.close("completed")
    w.calls.start(0, "c1", "patch")
    w.calls.write(0, '{"input": "+x"}')
    w.calls.start(1, "c2", "f")
    w.calls.write(1, "{}")
    w.calls.close("incomplete")
