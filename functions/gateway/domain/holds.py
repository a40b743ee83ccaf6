"""What one delivery of a background job holds: its SQS message, and while the job runs, a slot of its tenant.

The message is the job's only durable trace in the queue, so it is never given up while the job could still be
running. A run keeps its own message hidden by renewing the message's visibility from its heartbeat, for
``lease + renew`` seconds each time: if the worker dies, the message comes back just after its lease has run
out, when the next delivery can take the job over. When a delivery has nothing to do yet (a live owner, a full
tenant, an upstream asking to wait), it hides its message for that long and reports it failed, so Lambda's
event source leaves it in the queue.

The tenant slot (``TenantSlots``) is a lease renewed with the same heartbeat and freed when the run ends.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Protocol

from gateway.domain.ports import MessageVisibility

logger = logging.getLogger("gateway.worker")


class TenantSlots(Protocol):
    """At most ``limit`` running jobs per tenant, each holding a leased slot."""

    async def acquire(self, tenant: str, holder: str, *, limit: int, now: float, until: float) -> int | None: ...

    async def renew(self, tenant: str, slot: int, holder: str, *, until: float) -> bool: ...

    async def release(self, tenant: str, slot: int, holder: str) -> None: ...


def hold_seconds(lease_seconds: float) -> float:
    """How long each renewal hides a running job's message, and leases its slot: the lease plus one renewal
    period, so a message reappearing after its worker died finds the lease run out, whenever between two
    renewals the worker died."""
    return lease_seconds * 4 / 3


@dataclass(frozen=True)
class Message:
    """The SQS message of one delivery (nothing to hold when the worker has no queue or no receipt handle)."""

    queue: MessageVisibility | None
    receipt_handle: str | None

    async def hide(self, seconds: float) -> None:
        """Keep the message invisible for ``seconds`` from now. A failure is logged, never raised: the message
        then comes back on its own visibility timeout, which is later but safe."""
        if self.queue is None or not self.receipt_handle:
            return
        try:
            await self.queue.change_visibility(self.receipt_handle, max(0, math.ceil(seconds)))
        except Exception:
            logger.warning("could not change the visibility of a job's message", exc_info=True)


@dataclass(frozen=True)
class Slot:
    tenant: str
    index: int
    holder: str


class Keepalive:
    """Renews what a running attempt holds, at most every ``renew_seconds``: its message and its slot."""

    def __init__(
        self,
        message: Message,
        slots: TenantSlots | None,
        slot: Slot | None,
        *,
        lease_seconds: float,
    ) -> None:
        self._message = message
        self._slots = slots
        self._slot = slot
        self.renew_seconds = lease_seconds / 3
        self.hold_seconds = hold_seconds(lease_seconds)
        self._renewed = -math.inf

    async def renew(self, now: float) -> None:
        if now - self._renewed < self.renew_seconds:
            return
        self._renewed = now
        await self._message.hide(self.hold_seconds)
        if self._slots is not None and self._slot is not None:
            slot = self._slot
            if not await self._slots.renew(slot.tenant, slot.index, slot.holder, until=now + self.hold_seconds):
                logger.warning("slot %d of tenant %s was taken over while its run went on", slot.index, slot.tenant)

    async def release(self) -> None:
        """Free the slot (the message is the caller's to hide or leave to be deleted)."""
        if self._slots is not None and self._slot is not None:
            slot, self._slot = self._slot, None
            await self._slots.release(slot.tenant, slot.index, slot.holder)
