"""The models this deployment routes, for ``GET /v1/models``: configured names, then upstreams' own listings.

Sources, in order, without repeats:

- ``RESPONSES_MODELS``: names exactly as callers send them (``gpt-4o``, ``bedrock/<model or profile id>``,
  ``<upstream>/<model>``). This is the only source of Bedrock models: ``ListFoundationModels`` would need the
  Bedrock control-plane client and another IAM grant, and lists every model of the region, including ones the
  account has no access to and ones that only run through an inference profile, so it would advertise names
  that fail.
- each OpenAI-compatible upstream's ``GET /models`` (``RESPONSES_LIST_UPSTREAM_MODELS``), named as callers
  must name them: bare for the default provider, ``<upstream>/<id>`` otherwise. Cached per upstream for
  ``CACHE_SECONDS``; an upstream that fails or is slower than ``TIMEOUT_SECONDS`` is left out (and cached as
  empty for the same time), never failing the listing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.providers.registry import ProviderRegistry
from gateway.settings import Settings

logger = logging.getLogger("gateway")
CACHE_SECONDS = 60.0
TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class ListedModel:
    """One entry of the listing: OpenAI's ``Model`` fields."""

    id: str
    owned_by: str
    created: int = 0


class ModelCatalog:
    def __init__(
        self,
        settings: Settings,
        providers: ProviderRegistry,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._providers = providers
        self._clock = clock
        self._cached: dict[str, tuple[float, list[ListedModel]]] = {}

    async def models(self) -> list[ListedModel]:
        listed = {model.id: model for model in self._configured()}
        for models in await asyncio.gather(*(self._upstream(name) for name in self._upstream_names())):
            for model in models:
                listed.setdefault(model.id, model)
        return list(listed.values())

    async def find(self, model_id: str) -> ListedModel | None:
        return next((model for model in await self.models() if model.id == model_id), None)

    def _configured(self) -> list[ListedModel]:
        return [ListedModel(id=name, owned_by=self._owner(name)) for name in self._settings.listed_models()]

    def _owner(self, name: str) -> str:
        prefix, slash, rest = name.partition("/")
        return prefix if slash and rest and prefix in self._providers.names else self._settings.default_provider

    def _upstream_names(self) -> list[str]:
        if not self._settings.list_upstream_models:
            return []
        names = sorted(self._providers.names - {"bedrock", "openai"})
        settings = self._settings
        # ``openai`` always exists as a name; ask it only when something says it is in use.
        if settings.default_provider == "openai" or settings.openai_api_key or settings.provider_secret_id:
            names.insert(0, "openai")
        return names

    async def _upstream(self, name: str) -> list[ListedModel]:
        now = self._clock()
        cached = self._cached.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                entries = await self._list(name)
        except Exception as exc:  # any failure of one upstream only drops its models
            logger.warning("models listing of upstream '%s' failed: %s", name, exc or type(exc).__name__)
            entries = []
        prefix = "" if name == self._settings.default_provider else f"{name}/"
        models = [_listed(prefix, name, entry) for entry in entries]
        self._cached[name] = (now + CACHE_SECONDS, models)
        return models

    async def _list(self, name: str) -> list[dict[str, Any]]:
        from gateway.providers.openai_chat import OpenAIChatProvider

        provider, _ = self._providers.resolve(f"{name}/-")  # the registry builds a provider by routing a name
        if not isinstance(provider, OpenAIChatProvider):
            return []
        return await provider.list_models(TIMEOUT_SECONDS)


def _listed(prefix: str, provider: str, entry: dict[str, Any]) -> ListedModel:
    created = entry.get("created")
    owned_by = entry.get("owned_by")
    return ListedModel(
        id=prefix + str(entry["id"]),
        owned_by=owned_by if isinstance(owned_by, str) and owned_by else provider,
        created=created if isinstance(created, int) else 0,
    )
