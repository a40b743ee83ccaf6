"""A provider's open call held outside ``async with``, for tests that read events one by one or close early."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass

from gateway.domain.upstream import ProviderEvent


@dataclass
class Opened:
    events: AsyncIterator[ProviderEvent]
    stack: AsyncExitStack

    async def aclose(self) -> None:
        """Leave the provider's ``open`` block, as the engine does when a run ends."""
        await self.stack.aclose()


async def enter(call: AbstractAsyncContextManager[AsyncIterator[ProviderEvent]]) -> Opened:
    """Enter ``provider.open(request)``: the upstream has accepted the call once this returns."""
    stack = AsyncExitStack()
    events = await stack.enter_async_context(call)
    return Opened(events, stack)
