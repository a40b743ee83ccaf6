"""Per-key limits (requests and tokens per minute, tokens per day) and what a checked request carries.

The counters live in DynamoDB (``store/usage.py``); this module holds the rules: how limits are written,
which window a moment falls in, how many tokens a request reserves before its model call, and OpenAI's
``x-ratelimit-*`` headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.errors import GatewayError, RateLimitError

MINUTE = 60
DAY = 86_400
_NAMES = {"rpm": "rpm", "tpm": "tpm", "tokens_per_day": "tokens_per_day", "tpd": "tokens_per_day"}


@dataclass(frozen=True, slots=True)
class Limits:
    """None means unlimited."""

    rpm: int | None = None
    tpm: int | None = None
    tokens_per_day: int | None = None

    @property
    def any(self) -> bool:
        return self.rpm is not None or self.tpm is not None or self.tokens_per_day is not None

    def text(self) -> str:
        """The ``rpm=…,tpm=…,tokens_per_day=…`` form (empty when unlimited)."""
        pairs = {"rpm": self.rpm, "tpm": self.tpm, "tokens_per_day": self.tokens_per_day}
        return ",".join(f"{name}={value}" for name, value in pairs.items() if value is not None)

    def merged(self, other: Limits) -> Limits:
        """These limits, with ``other``'s where these have none (a key's own over the default)."""
        return Limits(
            rpm=self.rpm if self.rpm is not None else other.rpm,
            tpm=self.tpm if self.tpm is not None else other.tpm,
            tokens_per_day=self.tokens_per_day if self.tokens_per_day is not None else other.tokens_per_day,
        )


UNLIMITED = Limits()


def parse_limits(text: str) -> Limits:
    """``rpm=60,tpm=200000,tokens_per_day=5000000`` (any subset; empty: unlimited). ``ValueError`` otherwise."""
    values: dict[str, int] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        name, sep, raw = pair.partition("=")
        key = _NAMES.get(name.strip())
        if not sep or key is None:
            raise ValueError(f"limits are rpm=N, tpm=N and tokens_per_day=N, comma-separated; got {pair!r}")
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"{name.strip()} must be a whole number, got {raw.strip()!r}") from None
        if value < 1:
            raise ValueError(f"{name.strip()} must be at least 1, got {value}")
        values[key] = value
    return Limits(**values)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the tenant, the key (by its public id) and what it may spend."""

    tenant: str
    key_id: str
    limits: Limits = field(default_factory=Limits)
    admin: bool = False


@dataclass(frozen=True, slots=True)
class Reservation:
    """What a request took from its key's windows before its model call, settled when it ends."""

    tenant: str
    key_id: str
    minute: int
    """The minute window (unix minutes) the reservation counts in."""
    day: int
    """The day window (unix days, UTC)."""
    tokens: int
    """Tokens reserved (an estimate), replaced by the real usage on settling."""
    headers: dict[str, str] = field(default_factory=dict)
    """OpenAI's ``x-ratelimit-*`` headers for the reply."""


NO_RESERVATION = Reservation(tenant="", key_id="", minute=0, day=0, tokens=0)


def reserve_estimate(input_chars: int, max_output_tokens: int | None, default_output: int) -> int:
    """Tokens to hold before a call: the input at 4 characters a token, and the most the reply may use."""
    return input_chars // 4 + (max_output_tokens or default_output)


def ratelimit_headers(limits: Limits, requests: int, tokens: int, at: float, minute: int) -> dict[str, str]:
    """OpenAI's six headers for the minute window (a token-per-day limit alone reports that budget)."""
    reset = _duration(max((minute + 1) * MINUTE - at, 0.0))
    headers: dict[str, str] = {}
    if limits.rpm is not None:
        headers["x-ratelimit-limit-requests"] = str(limits.rpm)
        headers["x-ratelimit-remaining-requests"] = str(max(limits.rpm - requests, 0))
        headers["x-ratelimit-reset-requests"] = reset
    if limits.tpm is not None:
        headers["x-ratelimit-limit-tokens"] = str(limits.tpm)
        headers["x-ratelimit-remaining-tokens"] = str(max(limits.tpm - tokens, 0))
        headers["x-ratelimit-reset-tokens"] = reset
    return headers


def _duration(seconds: float) -> str:
    """OpenAI's reset format: ``1s``, ``6m0s``, ``20ms``."""
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    whole = int(seconds + 0.999)
    minutes, rest = divmod(whole, 60)
    return f"{minutes}m{rest}s" if minutes else f"{rest}s"


class QuotaExceededError(GatewayError):
    """The key's token budget for the day is spent (OpenAI's ``insufficient_quota``)."""

    status_code = 429
    error_type = "insufficient_quota"

    def __init__(self, message: str) -> None:
        super().__init__(message, code="insufficient_quota")


def over_limit(kind: str, limit: int, used: int, requested: int, retry_after: float) -> RateLimitError:
    unit = "requests per min (RPM)" if kind == "requests" else "tokens per min (TPM)"
    wait = max(int(retry_after + 0.999), 1)
    error = RateLimitError(
        f"Rate limit reached on {unit}: Limit {limit}, Used {used}, Requested {requested}. "
        f"Please try again in {wait}s.",
        retry_after=str(wait),
    )
    error.error_type = kind
    return error


def out_of_quota(limit: int) -> QuotaExceededError:
    return QuotaExceededError(
        f"You exceeded your current quota: this key's budget of {limit} tokens for the day (UTC) is spent. "
        "It renews at midnight UTC; ask the gateway's operator to raise it."
    )
