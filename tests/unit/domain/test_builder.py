"""ResponseBuilder: neutral provider events in, Responses events and the final Response out."""

from __future__ import annotations

from gateway.domain.builder import ResponseBuilder
from gateway.domain.echo import response_shell
from gateway.providers.base import (
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


def builder(*, reveal: bool = False, emit: bool = True) -> ResponseBuilder:
    shell = response_shell(ResponseCreateParams(model="m"), "resp_" + "1" * 50, "in_progress")
    return ResponseBuilder(shell, THREAD, emit=emit, obfuscate=False, reveal=reveal)


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
        assert terminal.output[0].encrypted_content == ("sig-123" if reveal else None)


def test_usage_and_failure_keep_partial_output() -> None:
    b = builder()
    out = [*b.start(), *b.begin(), *b.feed(TextDelta("part")), *b.feed(Usage(5, 1))]
    out += b.fail("server_error", "upstream died")
    final = b.response
    assert final.status == "failed" and final.error is not None and final.error.message == "upstream died"
    assert final.output[0].status == "incomplete"
    assert final.usage is not None and final.usage.total_tokens == 6
    assert out[-1].type == "response.failed"


def test_buffered_mode_builds_no_events_but_the_same_response() -> None:
    quiet, loud = builder(emit=False), builder()
    script = (TextDelta("a"), ToolCallStart(0, "c", "f"), ToolCallDelta(0, "{}"), Finish("tool_calls"))
    assert run(quiet, *script) == []
    run(loud, *script)
    strip = {"id", "created_at", "completed_at"}
    assert [i.type for i in quiet.response.output] == [i.type for i in loud.response.output]
    assert quiet.response.model_dump(exclude=strip | {"output"}) == loud.response.model_dump(exclude=strip | {"output"})


def test_arguments_before_the_call_starts_are_not_lost() -> None:
    b = builder()
    run(b, ToolCallDelta(3, '{"a":'), ToolCallDelta(3, "1}"), Finish("tool_calls"))
    [call] = b.response.output
    assert call.arguments == '{"a":1}'  # type: ignore[union-attr]
