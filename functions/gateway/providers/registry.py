"""Model name -> provider. The only place that knows the routing rules:

- ``openai/<model>`` -> the OpenAI-compatible upstream at ``OPENAI_BASE_URL`` with ``OPENAI_API_KEY`` (either may
  come from the provider secret, which ``Settings`` has already read);
- ``bedrock/<model id | inference profile | ARN>`` -> Bedrock Converse;
- ``<name>/<model>`` -> a named OpenAI-compatible upstream declared in ``RESPONSES_PROVIDERS_FILE``;
- anything else -> ``RESPONSES_DEFAULT_PROVIDER`` with the name unchanged (so ``meta-llama/Llama-3`` stays whole).
"""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from gateway.domain.upstream import Provider
from gateway.errors import InvalidRequestError
from gateway.settings import Settings

if TYPE_CHECKING:
    import httpx


class ProviderRegistry:
    """Builds providers on first use and keeps them (and one pool of upstream connections) for the process.

    ``http_transport`` replaces the network under the upstream client (tests pass an ``httpx.MockTransport``)."""

    def __init__(
        self,
        settings: Settings,
        *,
        http_transport: httpx.AsyncBaseTransport | None = None,
        bedrock_client: Any | None = None,
    ) -> None:
        self._settings = settings
        self._http_transport = http_transport
        self._bedrock_client = bedrock_client
        self._providers: dict[str, Provider] = {}
        self._http_client: httpx.AsyncClient | None = None

    def resolve(self, model: str) -> tuple[Provider, str]:
        """The provider for ``model`` and the model name to send it."""
        prefix, slash, rest = model.partition("/")
        if slash and rest and prefix in self.names:
            return self._get(prefix), rest
        return self._get(self._settings.default_provider), model

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset({"openai", "bedrock", *self._upstreams})

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()
        if self._http_client is not None:
            await self._http_client.aclose()
        elif self._http_transport is not None:
            await self._http_transport.aclose()

    def _get(self, name: str) -> Provider:
        provider = self._providers.get(name)
        if provider is None:
            provider = self._providers[name] = self._build(name)
        return provider

    def _build(self, name: str) -> Provider:
        if name == "bedrock":
            from gateway.providers.bedrock.provider import BedrockConverseProvider

            return BedrockConverseProvider(self._settings, client=self._bedrock_client)
        # Imported here, like Bedrock's: a deployment may use only one kind, and import time is cold-start time.
        from gateway.providers.openai_chat import OpenAIChatProvider

        secret = self._settings.provider_secret_values
        if name == "openai":
            api_key = self._settings.openai_api_key
            from_secret = api_key is not None and secret.get("openai_api_key") == api_key
            return OpenAIChatProvider(
                "openai",
                base_url=self._settings.openai_base_url,
                api_key=api_key,
                client=self._client,
                total_timeout=self._settings.upstream_read_timeout,
                credentials_hint="OPENAI_API_KEY"
                + (" in the secret RESPONSES_PROVIDER_SECRET_ID names" if from_secret else ""),
                address_hint="OPENAI_BASE_URL (an OpenAI-compatible server's /v1 URL), or use a bedrock/<model id>"
                " model",
                unconfigured=openai_unconfigured(self._settings),
            )
        upstream = self._upstreams.get(name)
        if upstream is None:
            raise InvalidRequestError(
                f"No provider named '{name}' is configured (RESPONSES_DEFAULT_PROVIDER).", param="model"
            )
        return OpenAIChatProvider(
            name,
            base_url=upstream["base_url"],
            api_key=upstream.get("api_key") or secret.get(upstream.get("api_key_secret", "").lower()),
            client=self._client,
            total_timeout=self._settings.upstream_read_timeout,
            max_tokens_field=upstream.get("max_tokens_field", "max_completion_tokens"),
            headers=upstream.get("headers"),
            credentials_hint=f"the api_key or api_key_secret of '{name}' in RESPONSES_PROVIDERS_FILE",
            address_hint=f"the base_url of '{name}' in RESPONSES_PROVIDERS_FILE",
        )

    @property
    def _client(self) -> httpx.AsyncClient:
        if self._http_client is None:
            self._http_client = upstream_client(self._settings, transport=self._http_transport)
        return self._http_client

    @cached_property
    def _upstreams(self) -> dict[str, dict[str, Any]]:
        """Named upstreams from ``RESPONSES_PROVIDERS_FILE``: ``{"name": {"base_url": ..., ...}}``."""
        path = self._settings.providers_file
        if path is None:
            return {}
        declared = json.loads(path.read_text())
        if not isinstance(declared, dict) or not all(
            isinstance(spec, dict) and "base_url" in spec for spec in declared.values()
        ):
            raise ValueError(f"{path}: expected an object of {{name: {{base_url, ...}}}}")
        return declared


OPENAI_HOST = "api.openai.com"


def openai_unconfigured(settings: Settings) -> str | None:
    """What is missing for the ``openai`` upstream to answer, or None: api.openai.com refuses a call without a
    key, while a local OpenAI-compatible server (Ollama, vLLM) may need none."""
    from urllib.parse import urlsplit

    if settings.openai_api_key or urlsplit(settings.openai_base_url).hostname != OPENAI_HOST:
        return None
    return (
        f"OPENAI_API_KEY is not set, and {OPENAI_HOST} needs one. Set it, or set OPENAI_BASE_URL to another "
        "OpenAI-compatible server, or use a bedrock/<model id> model."
    )


def upstream_client(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The one HTTP client for every OpenAI-compatible upstream: httpx's API over aiohttp's pool and C parser
    (httpx-aiohttp), HTTP/1.1. The README's Performance section says why this transport and not httpcore's.

    ``trust_env`` (httpx's default) takes ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY`` and
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` from the environment; ``RESPONSES_UPSTREAM_CA_BUNDLE`` wins over them.
    httpx's ``read`` timeout bounds each silence (the idle timeout); the provider holds the total deadline."""
    import ssl

    import httpx
    from httpx_aiohttp import HttpxAiohttpClient

    verify: ssl.SSLContext | bool = True
    if settings.upstream_ca_bundle is not None:
        verify = ssl.create_default_context(cafile=settings.upstream_ca_bundle)
    timeout = httpx.Timeout(
        settings.upstream_idle_timeout,
        connect=settings.upstream_connect_timeout,
        pool=settings.upstream_connect_timeout,
    )
    # aiohttp keeps any idle connection for ``keepalive_expiry`` s, up to the connection limit (aiohttp's own
    # default, 100, if none is given: a local server streaming more at once would queue for a connection).
    limits = httpx.Limits(max_connections=1000, keepalive_expiry=30.0)
    return HttpxAiohttpClient(transport=transport, verify=verify, timeout=timeout, limits=limits)
