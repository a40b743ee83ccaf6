"""An upstream's 429 on a background job: wait as long as it asks, then run again, rather than fail the job.

``ThrottleAware`` wraps the run's provider so a ``RateLimitError`` from ``open`` (nothing streamed yet) leaves the
run as ``RetryLater``, which the engine does not turn into ``response.failed``; the worker then releases the job
and hides its message for ``Retry-After`` seconds.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gateway.domain.upstream import ModelRequest, Provider, ProviderEvent
from gateway.errors import RateLimitError

MAX_WAIT_SECONDS = 43_200.0
"""SQS's longest visibility timeout."""


class RetryLater(Exception):
    """Stop this run; the job runs again in ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry in {seconds:.0f} s")
        self.seconds = seconds


class ThrottleAware:
    """``provider``, except that a 429 raises ``RetryLater`` for the delay the upstream asked for."""

    def __init__(self, provider: Provider, *, default_seconds: float) -> None:
        self.name = provider.name
        self._provider = provider
        self._default_seconds = default_seconds

    @asynccontextmanager
    async def open(self, request: ModelRequest) -> AsyncIterator[AsyncIterator[ProviderEvent]]:
        try:
            async with self._provider.open(request) as events:
                yield events
        except RateLimitError as exc:  # raised on entering: providers report a 429 before any event
            raise RetryLater(retry_after_seconds(exc.retry_after, self._default_seconds)) from exc

    async def aclose(self) -> None:
        await self._provider.aclose()


def retry_after_seconds(value: str | None, default: float, *, now: float | None = None) -> float:
    """A ``Retry-After`` header (seconds or an HTTP date) as seconds from now, within [1 s, 12 h]."""
    seconds = default
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                pass
            else:
                seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        seconds = default
    return min(max(seconds, 1.0), MAX_WAIT_SECONDS)
