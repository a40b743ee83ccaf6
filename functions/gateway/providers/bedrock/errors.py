"""Bedrock failures → gateway errors, in one place. No botocore exception leaves the adapter.

Before the stream starts (the ``ConverseStream`` call and its first event) errors keep their meaning:
throttling is a 429, a bad request a 400 with Bedrock's own message, missing model access a 400 that says
what to enable. Once events have been delivered every failure is an ``UpstreamError``: the response is
already under way, so the engine ends it with ``response.failed``.

No message names an endpoint: botocore and urllib3 put the URL they were calling (a VPC endpoint, a private
hostname) in their exception text, so transport failures get the gateway's own words (the detail goes to the
log) and any URL in a service message is replaced.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from urllib3.exceptions import HTTPError as Urllib3HTTPError

from gateway.errors import (
    ContextLengthExceededError,
    GatewayError,
    InvalidRequestError,
    RateLimitError,
    UpstreamCredentialsError,
    UpstreamError,
)
from gateway.providers.context_limits import is_context_too_long

_THROTTLING = frozenset(
    {
        "ThrottlingException",
        "throttlingException",
        "ServiceQuotaExceededException",
        "TooManyRequestsException",
    }
)
_VALIDATION = frozenset({"ValidationException", "validationException"})
_ACCESS_DENIED = frozenset({"AccessDeniedException"})
_NOT_FOUND = frozenset({"ResourceNotFoundException"})
_CREDENTIALS = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "IncompleteSignature",
        "ExpiredTokenException",
        "MissingAuthenticationTokenException",
    }
)
"""The gateway's own AWS credentials were refused: a 400 like other upstreams' 401/403, so SDKs do not retry."""
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s\"'<>)]+", re.IGNORECASE)
logger = logging.getLogger("gateway.providers.bedrock")


def _scrub(message: str) -> str:
    """``message`` without any URL in it."""
    return _URL.sub("<endpoint>", message)


def _transport_failure(exc: BaseException, *, started: bool) -> str:
    """What a client is told about a connection-level failure, in words that name no host."""
    logger.warning("Bedrock transport failure: %r", exc)
    if isinstance(exc, ConnectTimeoutError | EndpointConnectionError):
        return "Could not reach Bedrock: the connection failed."
    if isinstance(exc, ReadTimeoutError):
        return "Bedrock did not answer in time." if not started else "Bedrock stopped sending mid-stream."
    kind = type(exc).__name__
    return f"Could not reach Bedrock ({kind})." if not started else f"Bedrock stream broke off ({kind})."


def _code_and_message(exc: ClientError) -> tuple[str, str]:
    error = exc.response.get("Error", {})
    return error.get("Code", ""), _scrub(error.get("Message", "") or str(exc))


def _retry_after(exc: ClientError) -> str | None:
    headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return headers.get("retry-after")


def translate_client_error(exc: ClientError, *, model: str, region: str) -> GatewayError:
    """The gateway error for a Bedrock error that arrived before any output."""
    code, message = _code_and_message(exc)
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    _log_refusal(code, status, message, model, region)
    if code in _THROTTLING or status == 429:
        return RateLimitError(f"Bedrock is throttling requests: {message}", retry_after=_retry_after(exc))
    if code in _VALIDATION:
        if is_context_too_long(message):
            return ContextLengthExceededError(message)
        return InvalidRequestError(message)
    if code in _ACCESS_DENIED:
        return InvalidRequestError(
            f"Access to Bedrock model '{model}' was denied in {region}: {message} Bedrock models are enabled by "
            f"default, but Anthropic's need their first-use form submitted once per account, and a Marketplace "
            f"model needs the aws-marketplace subscription permissions; the gateway's IAM role must also allow "
            f"bedrock:InvokeModelWithResponseStream on it.",
            param="model",
            code="model_access_denied",
        )
    if code in _NOT_FOUND:
        return InvalidRequestError(
            f"Bedrock model '{model}' was not found in {region}: {message} Check the model id, or use an "
            f"inference profile id (for example 'us.<model id>') for models offered only through profiles.",
            param="model",
            code="model_not_found",
        )
    if code in _CREDENTIALS:
        logger.warning("Bedrock refused the gateway's credentials (%s): %s", code, message)
        return UpstreamCredentialsError(
            f"Upstream 'bedrock' refused the gateway's credentials ({code}). The gateway's operator should check "
            "its AWS credentials: the function's IAM role, or AWS_PROFILE / AWS_ACCESS_KEY_ID where it runs."
        )
    return UpstreamError(f"Bedrock failed ({code or status}): {message}")


def _log_refusal(code: str, status: object, message: str, model: str, region: str) -> None:
    """Every failed call in the log, with the request's id (the log scope's): Bedrock's message only for
    throttling and faults, since a refusal of the request may quote the prompt."""
    if code in _THROTTLING or status == 429 or (isinstance(status, int) and status >= 500):
        logger.warning("upstream bedrock (%s, %s) answered %s %s: %.300s", model, region, status, code, message)
    elif code not in _CREDENTIALS:  # logged with their own line below
        logger.info("upstream bedrock (%s, %s) answered %s %s", model, region, status, code)


@contextmanager
def map_api_errors(*, model: str, region: str) -> Iterator[None]:
    """Translate errors raised while starting a ConverseStream call."""
    try:
        yield
    except ClientError as exc:
        raise translate_client_error(exc, model=model, region=region) from exc
    except ParamValidationError as exc:
        # botocore checks types and ranges before sending; what it rejects came from the request.
        raise InvalidRequestError(f"Bedrock cannot take this request: {_scrub(str(exc))}") from exc
    except BotoCoreError as exc:
        raise UpstreamError(_transport_failure(exc, started=False)) from exc


@contextmanager
def map_stream_errors() -> Iterator[None]:
    """Translate errors raised while reading an accepted stream: all of them fail the response."""
    try:
        yield
    except ClientError as exc:  # EventStreamError: an exception event inside the stream
        code, message = _code_and_message(exc)
        raise UpstreamError(f"Bedrock stream failed ({code}): {message}") from exc
    except (BotoCoreError, Urllib3HTTPError, OSError) as exc:
        raise UpstreamError(_transport_failure(exc, started=True)) from exc
