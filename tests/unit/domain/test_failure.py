"""response_error: a failed Response carries only a code OpenAI's ``ResponseErrorCode`` enum allows."""

from __future__ import annotations

import pytest

from gateway.domain.failure import response_error
from gateway.errors import (
    AuthenticationError,
    ContextLengthExceededError,
    GatewayError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    UpstreamError,
)


class _Status(GatewayError):
    """An error with any status and code, for the mapping's branches."""

    def __init__(self, status: int, code: str | None) -> None:
        super().__init__(f"status {status}", code=code)
        self.status_code = status


@pytest.mark.parametrize(
    "code", ["server_error", "rate_limit_exceeded", "invalid_prompt", "invalid_image_url", "image_too_large"]
)
def test_a_code_in_the_enum_is_kept_whatever_the_status(code: str) -> None:
    assert response_error(_Status(400, code)).code == code
    assert response_error(_Status(503, code)).code == code


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RateLimitError("slow down"), "rate_limit_exceeded"),
        (_Status(429, "too_many"), "rate_limit_exceeded"),  # a code outside the enum: the status decides
        (UpstreamError("upstream died"), "server_error"),
        (_Status(500, None), "server_error"),
        (_Status(504, "gateway_timeout"), "server_error"),
        (ContextLengthExceededError("too long"), "invalid_prompt"),
        (InvalidRequestError("bad", code="unsupported_parameter"), "invalid_prompt"),
        (NotFoundError("gone"), "invalid_prompt"),
        (AuthenticationError("who"), "invalid_prompt"),
        (_Status(499, None), "invalid_prompt"),
    ],
)
def test_other_codes_map_to_the_nearest_the_schema_allows(error: GatewayError, expected: str) -> None:
    assert response_error(error).code == expected


def test_the_message_is_kept_and_nothing_else_is_added() -> None:
    error = ContextLengthExceededError("Your input exceeds the context window of this model.")
    assert response_error(error).model_dump() == {
        "code": "invalid_prompt",
        "message": "Your input exceeds the context window of this model.",
    }
