"""ConverseStream replies (real event-stream frames through botocore's parser) → neutral provider events."""

from __future__ import annotations

import anyio
import pytest

from gateway.domain.upstream import (
    Finish,
    FinishReason,
    ReasoningDelta,
    ReasoningState,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    Usage,
)
from gateway.errors import UpstreamError
from gateway.providers.bedrock.reasoning import ReasoningBlock, decode
from tests.fakes.bedrock import (
    FakeBedrock,
    collect,
    converse,
    exception,
    make_provider,
    make_request,
    message_start,
    message_stop,
    metadata,
    reasoning,
    stream,
    text,
    text_reply,
    tool_use,
)
from tests.fakes.opened import enter

pytestmark = pytest.mark.anyio

WEATHER_TOOL = {"type": "function", "name": "get_weather", "parameters": None, "strict": False}
NOVA = "us.amazon.nova-pro-v1:0"


async def test_text_streams_as_text_deltas_then_usage_and_finish() -> None:
    # WHEN the model answers in three pieces
    _, events = await converse(make_request(input="hi"), text_reply("Hel", "lo", "!"))

    # THEN each piece is a delta, and usage and the finish reason close the stream
    assert events == [
        TextDelta("Hel"),
        TextDelta("lo"),
        TextDelta("!"),
        Usage(input_tokens=11, output_tokens=7),
        Finish("stop"),
    ]


async def test_a_tool_use_block_is_a_function_call_with_streamed_arguments() -> None:
    reply = stream(
        message_start(),
        tool_use(0, "tooluse_abc", "get_weather", '{"ci', 'ty": "Paris"}'),
        message_stop("tool_use"),
        metadata(),
    )

    _, events = await converse(make_request(input="Weather?", tools=[WEATHER_TOOL]), reply)

    assert events[:3] == [
        ToolCallStart(index=0, call_id="tooluse_abc", name="get_weather"),
        ToolCallDelta(0, '{"ci'),
        ToolCallDelta(0, 'ty": "Paris"}'),
    ]
    assert events[-1] == Finish("tool_calls")


async def test_text_before_parallel_tool_calls_keeps_each_call_apart() -> None:
    reply = stream(
        message_start(),
        text(0, "Checking both."),
        tool_use(1, "tooluse_1", "get_weather", '{"city":"Paris"}'),
        tool_use(2, "tooluse_2", "get_weather", '{"city":"Oslo"}'),
        message_stop("tool_use"),
        metadata(),
    )

    _, events = await converse(make_request(input="Weather?", tools=[WEATHER_TOOL]), reply)

    assert events[:5] == [
        TextDelta("Checking both."),
        ToolCallStart(index=1, call_id="tooluse_1", name="get_weather"),
        ToolCallDelta(1, '{"city":"Paris"}'),
        ToolCallStart(index=2, call_id="tooluse_2", name="get_weather"),
        ToolCallDelta(2, '{"city":"Oslo"}'),
    ]


async def test_parallel_tool_calls_false_reports_only_the_first_call() -> None:
    reply = stream(
        message_start(),
        tool_use(0, "tooluse_1", "get_weather", '{"city":"Paris"}'),
        tool_use(1, "tooluse_2", "get_weather", '{"city":"Oslo"}'),
        message_stop("tool_use"),
        metadata(),
    )

    _, events = await converse(make_request(input="Weather?", tools=[WEATHER_TOOL], parallel_tool_calls=False), reply)

    assert [event for event in events if isinstance(event, ToolCallStart)] == [
        ToolCallStart(index=0, call_id="tooluse_1", name="get_weather")
    ]
    assert [event for event in events if isinstance(event, ToolCallDelta)] == [ToolCallDelta(0, '{"city":"Paris"}')]


async def test_a_call_without_input_gets_an_empty_json_object() -> None:
    reply = stream(message_start(), tool_use(0, "tooluse_1", "get_weather"), message_stop("tool_use"), metadata())

    _, events = await converse(make_request(input="Weather?", tools=[WEATHER_TOOL]), reply)

    assert events[:2] == [ToolCallStart(index=0, call_id="tooluse_1", name="get_weather"), ToolCallDelta(0, "{}")]


async def test_reasoning_streams_as_summary_text_and_its_signature_is_kept_once() -> None:
    # GIVEN a reasoning block with a signature, then the answer
    reply = stream(
        message_start(),
        reasoning(0, "Let me ", "think.", signature="sig-abc"),
        text(1, "42"),
        message_stop(),
        metadata(),
    )

    # WHEN it streams
    _, events = await converse(make_request(input="?", reasoning={"effort": "low"}), reply)

    # THEN the text is reasoning summary, and the signed block is one opaque state before the answer
    assert events[:2] == [ReasoningDelta("Let me "), ReasoningDelta("think.")]
    assert isinstance(events[2], ReasoningState)
    assert decode(events[2].encrypted_content) == [ReasoningBlock(text="Let me think.", signature="sig-abc")]
    assert events[3] == TextDelta("42")


async def test_reasoning_signature_round_trips_byte_for_byte_into_the_next_request() -> None:
    # GIVEN a first turn whose reasoning came back signed, with a redacted block after it
    first = stream(
        message_start(),
        reasoning(0, "Plan: call the tool.", signature="EqQBCkgIARABGAIiQ=="),
        reasoning(1, redacted=b"\x07opaque\xff"),
        tool_use(2, "tooluse_1", "get_weather", '{"city":"Paris"}'),
        message_stop("tool_use"),
        metadata(),
    )
    _, events = await converse(make_request(input="Weather?", tools=[WEATHER_TOOL], reasoning={"effort": "low"}), first)
    [state] = [event.encrypted_content for event in events if isinstance(event, ReasoningState)]

    # WHEN a stateless client sends the reasoning item back with its encrypted_content
    second = make_request(
        input=[
            {"role": "user", "content": "Weather?"},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": state},
            {"type": "function_call", "call_id": "tooluse_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
            {"type": "function_call_output", "call_id": "tooluse_1", "output": "18C"},
        ],
        tools=[WEATHER_TOOL],
        reasoning={"effort": "low"},
    )
    body, _ = await converse(second)

    # THEN Bedrock gets both blocks back unchanged, ahead of the tool use
    assert body["messages"][1]["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "Plan: call the tool.", "signature": "EqQBCkgIARABGAIiQ=="}}},
        {"reasoningContent": {"redactedContent": "B29wYXF1Zf8="}},
        {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
    ]


async def test_unsigned_reasoning_is_summary_only() -> None:
    reply = stream(message_start(), reasoning(0, "[REDACTED]"), text(1, "Hi"), message_stop(), metadata())

    _, events = await converse(make_request("us.amazon.nova-2-lite-v1:0", input="hi"), reply)

    assert events[:2] == [ReasoningDelta("[REDACTED]"), TextDelta("Hi")]


async def test_forced_output_tool_input_is_reported_as_text() -> None:
    # GIVEN structured output through the forced tool (no native support on Nova)
    request = make_request(
        NOVA, input="Paris?", text={"format": {"type": "json_schema", "name": "weather", "schema": {"type": "object"}}}
    )
    reply = stream(
        message_start(),
        tool_use(0, "tooluse_1", "weather", '{"city":', '"Paris"}'),
        message_stop("tool_use"),
        metadata(),
    )

    # WHEN the model calls it
    _, events = await converse(request, reply)

    # THEN its input is the output text and the response is an answer, not a function call
    assert events == [TextDelta('{"city":'), TextDelta('"Paris"}'), Usage(11, 7), Finish("stop")]


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("tool_use", "stop"),
        ("max_tokens", "max_output_tokens"),
        ("model_context_window_exceeded", "max_output_tokens"),
        ("content_filtered", "content_filter"),
        ("guardrail_intervened", "content_filter"),
        ("malformed_model_output", "stop"),
        ("malformed_tool_use", "stop"),
        ("some_future_reason", "stop"),
    ],
)
async def test_each_stop_reason_maps_to_a_finish_reason(stop_reason: str, finish: FinishReason) -> None:
    # tool_use with no reported call (no tool blocks here) is a plain answer
    _, events = await converse(make_request(input="hi"), text_reply("x", stop_reason=stop_reason))
    assert events[-1] == Finish(finish)


async def test_usage_counts_cache_reads_and_writes_as_input() -> None:
    reply = stream(message_start(), text(0, "x"), message_stop(), metadata(100, 20, cache_read=900, cache_write=50))

    _, events = await converse(make_request(input="hi"), reply)

    assert Usage(input_tokens=1050, output_tokens=20, cached_tokens=900, cache_write_tokens=50) in events


async def test_a_mid_stream_exception_event_fails_the_stream_after_the_output_so_far() -> None:
    # GIVEN a stream that breaks after some text
    fake = FakeBedrock().add(
        stream(message_start(), text(0, "partial", stop=False), exception("modelStreamErrorException", "boom"))
    )
    opened = await enter(make_provider(fake).open(make_request(input="hi")))

    # WHEN it is read
    seen = []
    with pytest.raises(UpstreamError) as caught:
        async for event in opened.events:
            seen.append(event)

    # THEN the text came first, then an upstream error naming Bedrock's failure
    assert seen == [TextDelta("partial")]
    assert "modelStreamErrorException" in caught.value.message and "boom" in caught.value.message
    assert caught.value.status_code == 502


async def test_a_stream_cut_off_before_message_stop_fails() -> None:
    fake = FakeBedrock().add(stream(message_start(), text(0, "partial")))
    with pytest.raises(UpstreamError, match="no messageStop"):
        await collect(await enter(make_provider(fake).open(make_request(input="hi"))))


@pytest.mark.parametrize("chunk_size", [1, 5, 64, 65536])
async def test_events_do_not_depend_on_how_the_bytes_arrive(chunk_size: int) -> None:
    reply = stream(
        message_start(),
        reasoning(0, "hmm", signature="sig"),
        text(1, "Paris ", "it is."),
        tool_use(2, "tooluse_1", "get_weather", '{"city":"Paris"}'),
        message_stop("tool_use"),
        metadata(),
    )
    reference = await collect(
        await enter(make_provider(FakeBedrock().add(reply)).open(make_request(input="?", tools=[WEATHER_TOOL])))
    )

    fake = FakeBedrock(chunk_size=chunk_size).add(reply)
    events = await collect(await enter(make_provider(fake).open(make_request(input="?", tools=[WEATHER_TOOL]))))

    assert events == reference


async def test_aclose_stops_reading_and_closes_the_event_stream() -> None:
    # GIVEN a model that is still running after its first words
    fake = FakeBedrock().add(stream(message_start(), text(0, "Hello", stop=False), hang=True))
    opened = await enter(make_provider(fake).open(make_request(input="hi")))
    assert await anext(opened.events) == TextDelta("Hello")

    # WHEN the engine closes the stream (client went away)
    await opened.aclose()

    # THEN the underlying event stream is closed
    assert fake.streams[0].closed.is_set()


async def test_cancelling_a_blocked_read_closes_the_event_stream() -> None:
    # GIVEN a read blocked in its worker thread
    fake = FakeBedrock().add(stream(message_start(), text(0, "Hello", stop=False), hang=True))
    opened = await enter(make_provider(fake).open(make_request(input="hi")))

    async def read_all() -> None:
        async for _ in opened.events:
            pass

    # WHEN the request is cancelled while waiting for the next event
    with anyio.move_on_after(0.2):
        await read_all()
    await opened.aclose()

    # THEN the stream is closed rather than left hanging
    assert fake.streams[0].closed.is_set()
