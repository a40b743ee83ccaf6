"""Errors as the SDK raises them: validation, unknown ids, auth, tenant isolation, upstream failures."""

from __future__ import annotations

import pytest
from openai import (
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    NotFoundError,
    OpenAI,
    RateLimitError,
)

from tests.compat.live import KEY_B, MODEL, SdkFactory
from tests.fakes.upstream import FakeUpstream, Reply, error_reply, text_reply

pytestmark = pytest.mark.compat

UNKNOWN_ID = "resp_" + "0" * 50


def test_max_output_tokens_below_minimum_is_bad_request(client: OpenAI, upstream: FakeUpstream) -> None:
    with pytest.raises(BadRequestError) as error:
        client.responses.create(model=MODEL, input="hi", max_output_tokens=15)

    assert error.value.status_code == 400
    assert error.value.param == "max_output_tokens"
    assert error.value.type == "invalid_request_error"
    assert upstream.requests == []
    # And 16, the minimum, is accepted and forwarded
    client.responses.create(model=MODEL, input="hi", max_output_tokens=16)
    assert upstream.last["max_completion_tokens"] == 16


@pytest.mark.parametrize("previous", [UNKNOWN_ID, "resp_not-one-of-ours"])
def test_unknown_previous_response_id_is_bad_request(client: OpenAI, upstream: FakeUpstream, previous: str) -> None:
    with pytest.raises(BadRequestError) as error:
        client.responses.create(model=MODEL, input="hi", previous_response_id=previous)

    assert error.value.code == "previous_response_not_found"
    assert error.value.param == "previous_response_id"
    assert previous in error.value.message
    assert upstream.requests == []


def test_a_bad_key_is_an_authentication_error(make_sdk: SdkFactory, upstream: FakeUpstream) -> None:
    with pytest.raises(AuthenticationError) as error:
        make_sdk(api_key="key-wrong").responses.create(model=MODEL, input="hi")

    assert error.value.status_code == 401
    assert error.value.code == "invalid_api_key"
    assert "key-wrong" not in error.value.message
    assert upstream.requests == []


@pytest.mark.parametrize("operation", ["retrieve", "delete", "input_items"])
def test_an_unknown_response_id_is_not_found(client: OpenAI, operation: str) -> None:
    calls = {
        "retrieve": client.responses.retrieve,
        "delete": client.responses.delete,
        "input_items": client.responses.input_items.list,
    }
    with pytest.raises(NotFoundError) as error:
        calls[operation](UNKNOWN_ID)

    assert error.value.status_code == 404
    assert UNKNOWN_ID in error.value.message


def test_another_tenants_response_is_invisible(client: OpenAI, make_sdk: SdkFactory, upstream: FakeUpstream) -> None:
    # Given a response of tenant A
    mine = client.responses.create(model=MODEL, input="secret")
    other = make_sdk(api_key=KEY_B)

    # When tenant B addresses it, it does not exist for B
    with pytest.raises(NotFoundError):
        other.responses.retrieve(mine.id)
    with pytest.raises(NotFoundError):
        other.responses.input_items.list(mine.id)
    with pytest.raises(NotFoundError):
        other.responses.delete(mine.id)
    with pytest.raises(BadRequestError) as chained:
        other.responses.create(model=MODEL, input="tell me", previous_response_id=mine.id)
    assert chained.value.code == "previous_response_not_found"

    # Then B reached the upstream for nothing, and A still has its response
    assert len(upstream.requests) == 1
    assert client.responses.retrieve(mine.id).output_text == mine.output_text


@pytest.mark.parametrize("stream", [False, True])
def test_upstream_429_is_a_rate_limit_error_with_retry_after(
    client: OpenAI, upstream: FakeUpstream, stream: bool
) -> None:
    upstream.will(error_reply(429, "Slow down.", code="rate_limit_exceeded", headers={"retry-after": "2"}))

    with pytest.raises(RateLimitError) as error:
        client.responses.create(model=MODEL, input="hi", stream=stream)

    assert error.value.status_code == 429
    assert error.value.code == "rate_limit_exceeded"
    assert error.value.response.headers["retry-after"] == "2"
    assert len(upstream.requests) == 1


def test_upstream_500_is_an_internal_server_error(client: OpenAI, upstream: FakeUpstream) -> None:
    upstream.will(error_reply(500, "upstream exploded"))

    with pytest.raises(InternalServerError) as error:
        client.responses.create(model=MODEL, input="hi")

    assert error.value.status_code == 502
    assert error.value.type == "server_error"
    assert error.value.code == "server_error"


def test_upstream_dropping_a_buffered_call_is_an_internal_server_error(client: OpenAI, upstream: FakeUpstream) -> None:
    upstream.will(Reply(chunks=text_reply("par", "tial").chunks[:-2], done=False))

    with pytest.raises(InternalServerError) as error:
        client.responses.create(model=MODEL, input="hi")

    assert error.value.status_code == 502
