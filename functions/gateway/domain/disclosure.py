"""What a client may see of the provider state kept in reasoning items, and how it comes back.

The store keeps the raw provider state in ``encrypted_content`` (for Claude on Bedrock: the thinking signature
and redacted thinking). A client sees it only when it asks (``include: ["reasoning.encrypted_content"]``), and
then only sealed for its tenant (``domain/sealing.py``). Coming back, a sealed token is opened into the raw state
again; a token the gateway did not seal (another provider's, or a forged one) is never handed to a provider:
anything without the gateway's prefix is dropped, anything with it must open or the request is a 400.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from gateway.domain.sealing import REASONING, VERSION, InvalidEncryptedContentError, Sealer
from gateway.errors import InvalidRequestError
from gateway.schemas.items import Reasoning
from gateway.schemas.responses import Response

_PREFIX = VERSION + "."
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Disclosure:
    """How reasoning state leaves the gateway for one tenant: sealed (``sealer`` given) or not at all."""

    tenant: str = ""
    sealer: Sealer | None = None

    def item(self, item: T) -> T:
        if not isinstance(item, Reasoning) or not item.encrypted_content:
            return item
        if self.sealer is None:
            hidden: T = item.model_copy(update={"encrypted_content": None})
            return hidden
        token = self.sealer.seal(self.tenant, REASONING, item.encrypted_content.encode())
        sealed: T = item.model_copy(update={"encrypted_content": token})
        return sealed

    def response(self, response: Response) -> Response:
        if not any(isinstance(item, Reasoning) and item.encrypted_content for item in response.output):
            return response
        return response.model_copy(update={"output": [self.item(item) for item in response.output]})


HIDDEN = Disclosure()


class SealerSource(Protocol):
    """Where the sealer comes from (``sealing_keys.SealerLoader``): loaded once, off the event loop."""

    async def get(self) -> Sealer: ...


class Discloser:
    """The sealer when a request needs one, and the ``Disclosure`` for a tenant: loaded only on first need, so a
    deployment without sealing keys still serves everything that seals nothing."""

    def __init__(self, source: SealerSource | None) -> None:
        self._source = source

    async def sealer(self) -> Sealer:
        if self._source is None:
            raise InvalidRequestError(
                "Reasoning and compaction state cannot be sealed on this deployment (no sealing key).",
                param="include",
            )
        return await self._source.get()

    async def disclosure(self, tenant: str, reveal: bool) -> Disclosure:
        return Disclosure(tenant, await self.sealer()) if reveal else HIDDEN


def needs_opening(items: Sequence[object]) -> bool:
    """Whether any item carries a token the gateway sealed (so the sealer must be loaded)."""
    return any(isinstance(item, Reasoning) and (item.encrypted_content or "").startswith(_PREFIX) for item in items)


def open_sealed(items: Sequence[T], tenant: str, sealer: Sealer | None) -> list[T]:
    """The items with every sealed reasoning state opened, and foreign state dropped."""
    opened: list[T] = []
    for item in items:
        if isinstance(item, Reasoning) and item.encrypted_content:
            state: str | None = None
            if item.encrypted_content.startswith(_PREFIX):
                if sealer is None:
                    raise InvalidEncryptedContentError(item.id)
                try:
                    state = sealer.open(tenant, REASONING, item.encrypted_content).decode()
                except (InvalidEncryptedContentError, UnicodeDecodeError):
                    raise InvalidEncryptedContentError(item.id) from None
            item = item.model_copy(update={"encrypted_content": state})
        opened.append(item)
    return opened
