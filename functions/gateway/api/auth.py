"""Bearer key -> tenant. Static keys from settings, else hashed key records in DynamoDB, cached briefly."""

from __future__ import annotations

import hmac
import time

import anyio.to_thread

from gateway.errors import AuthenticationError
from gateway.settings import Settings
from gateway.store.keys import DynamoKeyStore, key_hash

OPEN_TENANT = "default"


class Authenticator:
    def __init__(self, settings: Settings, keys: DynamoKeyStore | None) -> None:
        self._enabled = settings.auth_enabled
        self._static = {key_hash(key): tenant for key, tenant in settings.static_keys().items()}
        self._keys = keys
        self._ttl = settings.key_cache_seconds
        self._cache: dict[str, tuple[str, float]] = {}

    async def tenant(self, authorization: str | None) -> str:
        """The caller's tenant; ``AuthenticationError`` for a missing, unknown or revoked key."""
        if not self._enabled:
            return OPEN_TENANT
        scheme, _, key = (authorization or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise AuthenticationError(
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="missing_api_key",
            )
        digest = key_hash(key)
        tenant = self._static_tenant(digest) or await self._stored_tenant(digest)
        if tenant is None:
            raise AuthenticationError(f"Incorrect API key provided: {_redact(key)}.", code="invalid_api_key")
        return tenant

    def _static_tenant(self, digest: str) -> str | None:
        found = None
        for known, tenant in self._static.items():
            # Compare every entry in constant time so timing reveals nothing about which key matched.
            if hmac.compare_digest(known, digest):
                found = tenant
        return found

    async def _stored_tenant(self, digest: str) -> str | None:
        if self._keys is None:
            return None
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        tenant = await anyio.to_thread.run_sync(self._keys.tenant_of, digest)
        if tenant is not None:
            self._cache[digest] = (tenant, time.monotonic() + self._ttl)
        return tenant


def _redact(key: str) -> str:
    return f"{key[:6]}***{key[-4:]}" if len(key) > 12 else "***"
