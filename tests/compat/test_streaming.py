"""Server-sent events as the SDK consumes them: the ``responses.stream`` helper and raw ``stream=True``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from openai import OpenAI

from tests.compat.live import MODEL
from tests.fakes.upstream import FakeUpstream, Reply, error_reply, text_reply
from tests.sse import TEXT_EVENTS

pytestmark = pytest.mark.compat


def _assert_numbered(events: Sequence[Any]) -> None:
    assert [event.sequence_number for event in events] == list(range(len(events)))


def _deltas(events: Sequence[Any]) -> str:
    return "".join(event.delta for event in events if event.type == "response.output_text.delta")


def test_stream_helper_yields_ordered_events_and_the_final_response(client: OpenAI, upstream: FakeUpstream) -> None:
    # Given an upstream answering in three pieces
    upstream.will(text_reply("Hel", "lo, ", "world"))

    # When the SDK's stream helper consumes the stream
    with client.responses.stream(model=MODEL, input="hi") as stream:
        events = list(stream)
        final = stream.get_final_response()

    # Then the events come in the documented order, numbered from 0 without gaps
    assert [event.type for event in events] == TEXT_EVENTS
    _assert_numbered(events)
    created = events[0].response
    assert created.status == "in_progress"
    assert created.output == []
    assert created.usage is not None and created.usage.total_tokens == 0
    # And the deltas, the done events and the final response agree on the text
    assert _deltas(events) == "Hello, world"
    assert events[7].text == "Hello, world"
    assert events[8].part.text == "Hello, world"
    assert final.output_text == "Hello, world"
    assert final.status == "completed"
    assert final.usage is not None
    assert final.usage.total_tokens == final.usage.input_tokens + final.usage.output_tokens > 0
    # And every item event names the message the final response holds
    message_id = final.output[0].id
    assert {event.item_id for event in events if hasattr(event, "item_id")} == {message_id}
    assert events[-1].response.id == final.id
    # And the upstream was asked to stream
    assert upstream.last["stream"] is True


def test_raw_stream_true_iterates_typed_events(client: OpenAI, upstream: FakeUpstream) -> None:
    # Given an upstream answering in three pieces
    upstream.will(text_reply("one ", "two ", "three"))

    # When the raw stream is iterated
    with client.responses.create(model=MODEL, input="count", stream=True) as stream:
        content_type = stream.response.headers["content-type"]
        request_id = stream.response.headers.get("x-request-id")
        events = list(stream)

    # Then it is an SSE reply whose events are the SDK's typed stream events, in order
    assert content_type.startswith("text/event-stream")
    assert request_id is not None
    assert [event.type for event in events] == TEXT_EVENTS
    _assert_numbered(events)
    assert _deltas(events) == "one two three"
    completed = events[-1].response
    assert completed.status == "completed"
    # And response.completed carries exactly the items of the output_item.done events
    assert completed.output == [event.item for event in events if event.type == "response.output_item.done"]
    # And the stored response (store defaults to true) matches the completed event
    assert client.responses.retrieve(completed.id).model_dump() == completed.model_dump()


def _dropped_mid_stream(*pieces: str) -> Reply:
    """Some text, then the connection closes: no finish_reason, no usage, no ``[DONE]``."""
    role_and_text = text_reply(*pieces).chunks[:-2]  # drop the finish chunk and the usage chunk
    return Reply(chunks=role_and_text, done=False)


def test_stream_helper_surfaces_a_mid_stream_upstream_failure(client: OpenAI, upstream: FakeUpstream) -> None:
    # Given an upstream that sends some text and then drops the connection
    upstream.will(_dropped_mid_stream("par", "tial"))

    # When the SDK's stream helper consumes the stream
    with client.responses.stream(model=MODEL, input="hi") as stream:
        events = list(stream)
        # Then there is no final response: the helper raises rather than return a failed one
        with pytest.raises(RuntimeError, match=r"response\.completed"):
            stream.get_final_response()

    # And the stream ends with exactly one terminal event, response.failed, with a server_error
    _assert_numbered(events)
    terminals = [event.type for event in events if event.type in {"response.completed", "response.failed"}]
    assert terminals == ["response.failed"]
    failed = events[-1].response
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "server_error"
    # And the text produced so far is kept, its message marked incomplete
    assert _deltas(events) == "partial"
    [message] = failed.output
    assert message.status == "incomplete"
    assert message.content[0].text == "partial"
    # And the failed response is stored as such
    stored = client.responses.retrieve(failed.id)
    assert stored.status == "failed"
    assert stored.error == failed.error


def test_upstream_5xx_before_any_chunk_ends_the_stream_with_response_failed(
    client: OpenAI, upstream: FakeUpstream
) -> None:
    # Given an upstream that answers 500
    upstream.will(error_reply(500, "upstream exploded"))

    # When a stream is requested
    with client.responses.create(model=MODEL, input="hi", stream=True) as stream:
        events = list(stream)

    # Then the stream opens normally and ends in response.failed
    assert [event.type for event in events] == ["response.created", "response.in_progress", "response.failed"]
    _assert_numbered(events)
    failed = events[-1].response
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error.code == "server_error"
    assert failed.output == []
