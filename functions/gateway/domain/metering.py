"""Metering: a model call is admitted against its key's limits before it starts, and settled when it ends.

``admit`` reserves an estimate (``domain/limits.py``) through the ``Meter`` port (``store/usage.py``), and hooks
the run so that its end — completed, incomplete, failed or cancelled; buffered, streamed or in the background —
replaces the reservation by the response's ``usage`` and adds that to the ledger. A call the upstream refuses
before it starts gives its reserved tokens back (the request still counts, as on OpenAI).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from gateway.domain.limits import NO_RESERVATION, Principal, Reservation, reserve_estimate
from gateway.domain.run import Run
from gateway.schemas.responses import Response

logger = logging.getLogger("gateway")


@dataclass(frozen=True, slots=True)
class Spent:
    """One settled response's usage, as the ledger counts it."""

    model: str
    input_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total(self) -> int:
        """Tokens as OpenAI's limits count them: input (cached included) plus output."""
        return self.input_tokens + self.output_tokens


class Meter(Protocol):
    async def reserve(self, principal: Principal, tokens: int) -> Reservation:
        """Count the request and hold ``tokens``, or raise the 429 that refuses it."""
        ...

    async def settle(self, reservation: Reservation, spent: Spent, *, ledger: bool = True) -> None:
        """Replace the reservation by ``spent`` and (with ``ledger``) record it."""
        ...


class Metering:
    def __init__(self, meter: Meter | None, *, token_reserve: int) -> None:
        self._meter = meter
        self._token_reserve = token_reserve

    async def admit(self, run: Run, principal: Principal, input_chars: int) -> Reservation:
        """Check ``principal``'s limits for ``run`` (429 when over) and settle the run's usage when it ends."""
        if self._meter is None:
            return NO_RESERVATION
        tokens = reserve_estimate(input_chars, run.params.max_output_tokens, self._token_reserve)
        reservation = await self._meter.reserve(principal, tokens)
        self.attach(run, reservation)
        return reservation

    def attach(self, run: Run, reservation: Reservation) -> None:
        """Settle ``reservation`` with the run's final usage (a background run's, resumed by the worker)."""
        if self._meter is None or not reservation.key_id:
            return

        async def settle(final: Response) -> None:
            await self._settle(reservation, _spent(final))

        run.on_usage = settle

    async def release(self, reservation: Reservation) -> None:
        """Give back what a call that never started reserved."""
        if reservation.key_id:
            await self._settle(reservation, Spent(model=""), ledger=False)

    async def _settle(self, reservation: Reservation, spent: Spent, *, ledger: bool = True) -> None:
        assert self._meter is not None
        try:
            await self._meter.settle(reservation, spent, ledger=ledger)
        except Exception:
            # The response is done and stored: a lost settlement costs accuracy, never the client's reply.
            logger.exception("usage of key %s not recorded", reservation.key_id)


def _spent(response: Response) -> Spent:
    usage = response.usage
    return Spent(
        model=response.model,
        input_tokens=usage.input_tokens,
        cached_tokens=usage.input_tokens_details.cached_tokens,
        cache_write_tokens=usage.input_tokens_details.cache_write_tokens,
        output_tokens=usage.output_tokens,
        reasoning_tokens=usage.output_tokens_details.reasoning_tokens,
    )
