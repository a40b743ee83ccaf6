"""Bedrock errors (HTTP errors and exception events) → gateway errors, raised by ``open`` before any output."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.exceptions import EndpointConnectionError

from gateway.errors import (
    ContextLengthExceededError,
    GatewayError,
    InvalidRequestError,
    RateLimitError,
    UpstreamCredentialsError,
    UpstreamError,
)
from gateway.providers.bedrock.provider import BedrockConverseProvider
from gateway.settings import Settings
from tests.fakes.bedrock import (
    FakeBedrock,
    converse,
    error_reply,
    exception,
    make_provider,
    make_request,
    stream,
    text_reply,
)
from tests.fakes.opened import enter

pytestmark = pytest.mark.anyio

MODEL = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"


async def open_error(*replies: Any) -> GatewayError:
    fake = FakeBedrock().add(*replies)
    with pytest.raises(GatewayError) as caught:
        await enter(make_provider(fake).open(make_request(MODEL, input="hi")))
    return caught.value


async def test_throttling_is_a_429() -> None:
    error = await open_error(error_reply(429, "ThrottlingException", "Too many requests, please wait."))

    assert isinstance(error, RateLimitError)
    assert (error.status_code, error.code) == (429, "rate_limit_exceeded")
    assert "Too many requests, please wait." in error.message


async def test_service_quota_exceeded_is_a_429() -> None:
    error = await open_error(error_reply(400, "ServiceQuotaExceededException", "Quota exceeded."))
    assert isinstance(error, RateLimitError)


async def test_validation_is_a_400_with_bedrocks_own_message() -> None:
    message = "The model returned the following errors: temperature and top_p cannot both be specified."

    error = await open_error(error_reply(400, "ValidationException", message))

    assert type(error) is InvalidRequestError
    assert (error.status_code, error.message) == (400, message)


@pytest.mark.parametrize(
    "message",
    ["Input is too long for requested model.", "prompt is too long: 210000 tokens > 200000 maximum"],
)
async def test_a_prompt_over_the_context_window_is_context_length_exceeded(message: str) -> None:
    error = await open_error(error_reply(400, "ValidationException", message))

    assert isinstance(error, ContextLengthExceededError)
    assert (error.code, error.param) == ("context_length_exceeded", "input")


async def test_access_denied_says_which_model_and_what_to_enable() -> None:
    error = await open_error(
        error_reply(403, "AccessDeniedException", "You don't have access to the model with the specified model ID.")
    )

    assert isinstance(error, InvalidRequestError)
    assert (error.status_code, error.param, error.code) == (400, "model", "model_access_denied")
    assert MODEL in error.message and "us-east-1" in error.message
    assert "first-use form" in error.message and "bedrock:InvokeModelWithResponseStream" in error.message


async def test_an_unknown_model_is_a_400_naming_it() -> None:
    error = await open_error(error_reply(404, "ResourceNotFoundException", "Could not resolve the foundation model."))

    assert isinstance(error, InvalidRequestError)
    assert (error.param, error.code) == ("model", "model_not_found")
    assert MODEL in error.message


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (500, "InternalServerException"),
        (503, "ServiceUnavailableException"),
        (408, "ModelTimeoutException"),
        (424, "ModelErrorException"),
    ],
)
async def test_other_service_errors_are_a_502(status: int, code: str) -> None:
    error = await open_error(error_reply(status, code, "something broke"))

    assert isinstance(error, UpstreamError)
    assert error.status_code == 502 and code in error.message


@pytest.mark.parametrize("code", ["UnrecognizedClientException", "ExpiredTokenException", "InvalidSignatureException"])
async def test_refused_gateway_credentials_are_a_502_not_worth_retrying(code: str) -> None:
    error = await open_error(error_reply(403, code, "The security token included in the request is invalid."))

    # the gateway is misconfigured, not the caller's request: a 502 that tells SDKs not to retry, and the setting
    assert isinstance(error, UpstreamCredentialsError) and error.status_code == 502 and error.retryable is False
    assert "refused the gateway's credentials" in error.message and code in error.message
    assert "AWS credentials" in error.message and "security token" not in error.message


async def test_a_model_not_ready_yet_is_a_429_so_clients_retry() -> None:
    # Bedrock sends ModelNotReadyException with HTTP 429 while it loads an imported or custom model
    error = await open_error(error_reply(429, "ModelNotReadyException", "Model is not ready for inference."))
    assert isinstance(error, RateLimitError)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("throttlingException", RateLimitError),
        ("validationException", InvalidRequestError),
        ("serviceUnavailableException", UpstreamError),
        ("internalServerException", UpstreamError),
        ("modelStreamErrorException", UpstreamError),
    ],
)
async def test_an_exception_as_the_first_event_is_raised_by_open(event: str, expected: type[GatewayError]) -> None:
    # GIVEN Bedrock accepts the call but its stream starts with an exception event
    error = await open_error(stream(exception(event, "nope")))

    # THEN open raises it, mapped like the HTTP error of the same kind
    assert type(error) is expected
    assert "nope" in error.message


async def test_unreachable_endpoint_is_a_502() -> None:
    fake = FakeBedrock()
    client = fake.client()

    def refuse(request: AWSPreparedRequest, **_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=request.url)

    client.meta.events.register_first("before-send.bedrock-runtime.ConverseStream", refuse)

    with pytest.raises(UpstreamError, match="Could not reach Bedrock"):
        await enter(BedrockConverseProvider(Settings(), client=client).open(make_request(MODEL, input="hi")))


async def test_the_default_client_is_built_lazily_in_the_configured_region() -> None:
    # GIVEN no client
    provider = BedrockConverseProvider(Settings(aws_region="eu-central-1"))

    # THEN the one it builds targets the configured region (no call is made)
    client = provider._bedrock()
    assert client.meta.region_name == "eu-central-1"
    config: Any = client.meta.config  # botocore-stubs leaves Config's options out
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}
    await provider.aclose()


async def test_a_stream_past_the_total_read_timeout_fails_even_while_events_keep_coming(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a clock that jumps 10 s between the call's start and each event, and a 15 s limit for the whole call
    ticks = iter(range(0, 10_000, 10))
    monkeypatch.setattr("gateway.providers.bedrock.provider.time.monotonic", lambda: next(ticks))
    request = make_request(input="hi")

    # WHEN Bedrock streams a long answer, each piece within the idle timeout
    with pytest.raises(UpstreamError, match="RESPONSES_UPSTREAM_READ_TIMEOUT") as caught:
        await converse(request, text_reply(*["word "] * 20), upstream_read_timeout=15)

    # THEN the call fails once the total is spent, not after the whole stream
    assert caught.value.status_code == 502
