"""ResponseBuilder: neutral provider events in, Responses events and the final Response out."""

from __future__ import annotations

import pytest

from gateway.domain.builder import ResponseBuilder
from gateway.domain.disclosure import HIDDEN, Disclosure
from gateway.domain.echo import response_shell
from gateway.domain.sealing import REASONING, Sealer
from gateway.domain.tools import build_toolset
from gateway.domain.upstream import (
    Finish,
    ReasoningDelta,
    ReasoningState,
    RefusalDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)
from gateway.schemas.events import StreamEvent
from gateway.schemas.requests import ResponseCreateParams

THREAD = "0" * 24


SEALER = Sealer([b"k" * 32])


def builder(*, reveal: bool = False) -> ResponseBuilder:
    shell = response_shell(ResponseCreateParams(model="m"), "resp_" + "1" * 50, "in_progress")
    disclosure = Disclosure("acme", SEALER) if reveal else HIDDEN
    return ResponseBuilder(shell, THREAD, obfuscate=False, disclosure=disclosure)


def run(b: ResponseBuilder, *events: object) -> list[StreamEvent]:
    out = [*b.start(), *b.begin()]
    for event in events:
        out += b.feed(event)  # type: ignore[arg-type]
    return out + b.finish()


def test_text_then_refusal_are_two_parts_of_one_message() -> None:
    b = builder()
    events = run(b, TextDelta("Hi. "), RefusalDelta("I can't help with that."), Finish("stop"))
    [message] = b.response.output
    assert message.model_dump()["content"] == [
        {"type": "output_text", "text": "Hi. ", "annotations": [], "logprobs": []},
        {"type": "refusal", "refusal": "I can't help with that."},
    ]
    kinds = [event.type for event in events]
    assert kinds.count("response.content_part.added") == 2
    assert "response.refusal.done" in kinds


def test_text_after_tool_calls_opens_a_new_message_after_closing_the_calls() -> None:
    b = builder()
    events = run(b, ToolCallStart(0, "c1", "f"), ToolCallDelta(0, "{}"), TextDelta("done"), Finish("stop"))
    assert [item.type for item in b.response.output] == ["function_call", "message"]
    done_indexes = [event.output_index for event in events if event.type == "response.output_item.done"]  # type: ignore[attr-defined]
    assert done_indexes == [0, 1]


def test_reasoning_state_is_kept_but_revealed_only_on_request() -> None:
    for reveal in (False, True):
        b = builder(reveal=reveal)
        events = run(b, ReasoningDelta("hmm"), ReasoningState("sig-123"), TextDelta("42"), Finish("stop"))
        # the stored response always keeps the state, so the next turn can send it back
        assert b.response.output[0].encrypted_content == "sig-123"  # type: ignore[union-attr]
        terminal = events[-1].response  # type: ignore[attr-defined]
        shown = terminal.output[0].encrypted_content
        [done] = [e for e in events if e.type == "response.output_item.done" and e.item.type == "reasoning"]  # type: ignore[attr-defined]
        if not reveal:
            assert shown is None and done.item.encrypted_content is None  # type: ignore[attr-defined]
            continue
        # the client sees it sealed for its tenant, never the raw state
        assert shown.startswith("gw1.") and "sig-123" not in shown
        assert SEALER.open("acme", REASONING, shown) == b"sig-123"
        assert SEALER.open("acme", REASONING, done.item.encrypted_content) == b"sig-123"  # type: ignore[attr-defined]


def test_usage_and_failure_keep_partial_output() -> None:
    b = builder()
    out = [*b.start(), *b.begin(), *b.feed(TextDelta("part")), *b.feed(Usage(5, 1))]
    out += b.fail("server_error", "upstream died")
    final = b.response
    assert final.status == "failed" and final.error is not None and final.error.message == "upstream died"
    assert final.output[0].status == "incomplete"
    assert final.usage is not None and final.usage.total_tokens == 6
    assert out[-1].type == "response.failed"


def test_arguments_before_the_call_starts_are_not_lost() -> None:
    b = builder()
    run(b, ToolCallDelta(3, '{"a":'), ToolCallDelta(3, "1}"), Finish("tool_calls"))
    [call] = b.response.output
    assert call.arguments == '{"a":1}'  # type: ignore[union-attr]


# tool kinds and reasoning text (RESPONSES_2026.md §2, §4) ------------------------------------------------


def tool_builder(*tools: dict[str, object]) -> ResponseBuilder:
    params = ResponseCreateParams.model_validate({"model": "m", "tools": list(tools)})
    shell = response_shell(params, "resp_" + "1" * 50, "in_progress")
    return ResponseBuilder(shell, THREAD, tools=build_toolset(params, [], refuse_hosted=False), obfuscate=False)


def of_type(events: list[StreamEvent], kind: str) -> list[dict[str, object]]:
    return [event.model_dump() for event in events if event.type == kind]


def test_a_custom_tool_call_streams_its_raw_input_decoded_from_the_json_arguments() -> None:
    b = tool_builder({"type": "custom", "name": "apply_patch"})
    pieces = ['{"inp', 'ut": "*** Begin', " Patch\\n*** Add", " File: a.txt\\n+h\\u00e9", 'llo\\n"}']
    events = run(
        b, ToolCallStart(0, "call_1", "apply_patch"), *(ToolCallDelta(0, p) for p in pieces), Finish("tool_calls")
    )
    [item] = b.response.output
    expected = "*** Begin Patch\n*** Add File: a.txt\n+héllo\n"
    assert item.model_dump() == {
        "type": "custom_tool_call",
        "id": item.id,
        "call_id": "call_1",
        "name": "apply_patch",
        "input": expected,
    }
    assert item.id is not None and item.id.startswith("ctc_")
    deltas = of_type(events, "response.custom_tool_call_input.delta")
    assert len(deltas) >= 3 and "".join(str(d["delta"]) for d in deltas) == expected
    [done] = of_type(events, "response.custom_tool_call_input.done")
    assert done["input"] == expected and done["item_id"] == item.id
    assert not of_type(events, "response.function_call_arguments.delta")
    [added] = of_type(events, "response.output_item.added")
    assert added["item"] == {
        "type": "custom_tool_call",
        "id": item.id,
        "call_id": "call_1",
        "name": "apply_patch",
        "input": "",
    }


def test_a_namespaced_function_call_comes_back_under_its_own_name() -> None:
    b = tool_builder({"type": "namespace", "name": "mcp", "tools": [{"type": "function", "name": "create_issue"}]})
    run(b, ToolCallStart(0, "c", "mcp__create_issue"), ToolCallDelta(0, "{}"), Finish("tool_calls"))
    [call] = b.response.output
    assert (call.type, call.name, call.namespace) == ("function_call", "create_issue", "mcp")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("tool", "arguments", "expected"),
    [
        (
            {"type": "shell"},
            '{"commands": ["ls -la"], "timeout_ms": 5000}',
            {"type": "shell_call", "action": {"commands": ["ls -la"], "timeout_ms": 5000, "max_output_length": None}},
        ),
        (
            {"type": "local_shell"},
            '{"command": ["ls"]}',
            {
                "type": "local_shell_call",
                "action": {
                    "type": "exec",
                    "command": ["ls"],
                    "env": {},
                    "timeout_ms": None,
                    "user": None,
                    "working_directory": None,
                },
            },
        ),
        (
            {"type": "apply_patch"},
            '{"type": "update_file", "path": "a.py", "diff": "@@\\n-a\\n+b"}',
            {"type": "apply_patch_call", "operation": {"type": "update_file", "path": "a.py", "diff": "@@\n-a\n+b"}},
        ),
    ],
)
def test_builtin_calls_become_their_own_items_announced_once_complete(
    tool: dict[str, object], arguments: str, expected: dict[str, object]
) -> None:
    b = tool_builder(tool)
    name = str(tool["type"])
    events = run(
        b,
        ToolCallStart(0, "c9", name),
        ToolCallDelta(0, arguments[:7]),
        ToolCallDelta(0, arguments[7:]),
        Finish("tool_calls"),
    )
    [item] = b.response.output
    dumped = item.model_dump()
    assert {key: dumped[key] for key in expected} == expected
    assert dumped["call_id"] == "c9" and dumped["status"] == "completed"
    [added] = of_type(events, "response.output_item.added")
    [done] = of_type(events, "response.output_item.done")
    assert added["item"] == done["item"] == dumped  # no half-built action is ever shown
    assert not of_type(events, "response.function_call_arguments.delta")


def test_builtin_call_with_arguments_that_do_not_fit_stays_a_function_call() -> None:
    b = tool_builder({"type": "shell"})
    run(b, ToolCallStart(0, "c", "shell"), ToolCallDelta(0, '{"cmd": "ls"}'), Finish("tool_calls"))
    [item] = b.response.output
    assert item.type == "function_call" and item.arguments == '{"cmd": "ls"}'  # type: ignore[union-attr]


def test_reasoning_is_content_with_reasoning_text_events_and_no_summary() -> None:
    b = builder()
    events = run(b, ReasoningDelta("Let me "), ReasoningDelta("think."), TextDelta("42"), Finish("stop"))
    reasoning = b.response.output[0]
    assert reasoning.model_dump() == {
        "type": "reasoning",
        "id": reasoning.id,
        "summary": [],
        "content": [{"type": "reasoning_text", "text": "Let me think."}],
        "status": "completed",
    }
    kinds = [event.type for event in events]
    assert "response.reasoning_summary_text.delta" not in kinds
    assert [d["delta"] for d in of_type(events, "response.reasoning_text.delta")] == ["Let me ", "think."]
    [done] = of_type(events, "response.reasoning_text.done")
    assert done["text"] == "Let me think."
    parts = [e["part"] for e in of_type(events, "response.content_part.added")]
    assert parts[0] == {"type": "reasoning_text", "text": ""}
    [added] = [e for e in of_type(events, "response.output_item.added") if e["output_index"] == 0]
    assert added["item"] == {"type": "reasoning", "id": reasoning.id, "summary": [], "status": "in_progress"}


def test_reasoning_cut_off_is_incomplete() -> None:
    b = builder()
    run(b, ReasoningDelta("hmm"), Finish("max_output_tokens"))
    assert b.response.output[0].status == "incomplete"  # type: ignore[union-attr]


def test_a_snapshot_shows_finished_items_and_open_ones_as_they_stand() -> None:
    # GIVEN a run that has reasoned, written some text, and is half-way through a custom tool call's input
    b = tool_builder({"type": "custom", "name": "apply_patch"})
    b.start()
    b.begin()
    for event in (ReasoningDelta("plan"), ReasoningState("sig"), TextDelta("Patching "), TextDelta("now.")):
        b.feed(event)
    b.feed(ToolCallStart(0, "c1", "apply_patch"))
    b.feed(ToolCallDelta(0, '{"input": "*** Begin'))

    # WHEN a heartbeat asks for the output so far
    snapshot = b.snapshot()

    # THEN finished items are final, the open call shows the input decoded so far, and private state is kept
    assert snapshot.status == "in_progress"
    reasoning, message, call = snapshot.output
    assert reasoning.model_dump()["content"] == [{"type": "reasoning_text", "text": "plan"}]
    assert reasoning.encrypted_content == "sig"  # type: ignore[union-attr]
    assert message.model_dump()["content"][0]["text"] == "Patching now." and message.status == "completed"  # type: ignore[union-attr]
    assert (call.type, call.input) == ("custom_tool_call", "*** Begin")  # type: ignore[union-attr]

    # AND an open message shows the part being written
    b.feed(Finish("tool_calls"))
    b.finish()
    writing = builder()
    writing.start()
    writing.begin()
    writing.feed(TextDelta("Hel"))
    [open_message] = writing.snapshot().output
    assert open_message.model_dump()["content"][0]["text"] == "Hel" and open_message.status == "in_progress"  # type: ignore[union-attr]
