"""The ``error`` of a failed Response: OpenAI's schema allows only a closed set of codes there.

An error that reaches a client as an HTTP status keeps its own code (``context_length_exceeded``,
``unsupported_parameter`` …). One that can only fail the response (a streamed or background run) is told with
the nearest code the Response schema allows, and its message says the rest.
"""

from __future__ import annotations

from gateway.errors import GatewayError
from gateway.schemas.responses import ResponseError

RESPONSE_ERROR_CODES = frozenset(
    {
        "server_error",
        "rate_limit_exceeded",
        "invalid_prompt",
        "data_residency_mismatch",
        "bio_policy",
        "vector_store_timeout",
        "invalid_image",
        "invalid_image_format",
        "invalid_base64_image",
        "invalid_image_url",
        "image_too_large",
        "image_too_small",
        "image_parse_error",
        "image_content_policy_violation",
        "invalid_image_mode",
        "image_file_too_large",
        "unsupported_image_media_type",
        "empty_image_file",
        "failed_to_download_image",
        "image_file_not_found",
    }
)
"""``ResponseErrorCode`` in OpenAI's OpenAPI spec."""


def response_error(error: GatewayError) -> ResponseError:
    if error.code in RESPONSE_ERROR_CODES:
        code = error.code
    elif error.status_code == 429:
        code = "rate_limit_exceeded"
    elif error.status_code >= 500:
        code = "server_error"
    else:
        code = "invalid_prompt"  # the request could not be run as sent: the nearest code the schema allows
    return ResponseError(code=code, message=error.message)
