"""The gateway's error tree. Each class knows its HTTP status and OpenAI error type/code; ``api/`` renders them."""

from __future__ import annotations


class GatewayError(Exception):
    """Base of every error that reaches a client as an OpenAI error envelope."""

    status_code = 400
    error_type = "invalid_request_error"
    retryable: bool | None = None
    """False sends ``x-should-retry: false``: the OpenAI SDKs otherwise retry every 5xx twice."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.headers: dict[str, str] = {}
        """Sent with the error (a 429's ``x-ratelimit-*``)."""


class InvalidRequestError(GatewayError):
    """The request is malformed, out of range, or asks for something the gateway cannot do."""


class AuthenticationError(GatewayError):
    """Missing or wrong API key."""

    status_code = 401


class PermissionDeniedError(GatewayError):
    """A valid key without the right to this operation (an admin endpoint)."""

    status_code = 403


class NotFoundError(GatewayError):
    """The addressed resource does not exist for this tenant (or has expired)."""

    status_code = 404


class RateLimitError(GatewayError):
    """The upstream is throttling; the client should wait ``retry_after`` seconds."""

    status_code = 429
    error_type = "requests"

    def __init__(self, message: str, *, retry_after: str | None = None) -> None:
        super().__init__(message, code="rate_limit_exceeded")
        self.retry_after = retry_after


class ServerError(GatewayError):
    """The gateway itself failed (a frame that cannot be answered otherwise); the message says nothing more."""

    status_code = 500
    error_type = "server_error"

    def __init__(self) -> None:
        super().__init__(
            "The server had an error while processing your request. Sorry about that!", code="server_error"
        )


class UpstreamError(GatewayError):
    """The upstream failed (5xx, timeout, refused connection, broken stream)."""

    status_code = 502
    error_type = "server_error"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="server_error")


class UpstreamCredentialsError(UpstreamError):
    """The upstream refused the gateway's own credentials: the operator's setting to fix, and a retry will not."""

    retryable = False


class ContextLengthExceededError(InvalidRequestError):
    """The assembled context does not fit the model's window."""

    def __init__(self, message: str) -> None:
        super().__init__(message, param="input", code="context_length_exceeded")
