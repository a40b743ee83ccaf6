"""Bearer key -> principal (tenant, key, limits). Static keys from settings, else hashed key records in DynamoDB,
cached briefly."""

from __future__ import annotations

import hmac
import time

import anyio.to_thread

from gateway.domain.limits import Principal
from gateway.errors import AuthenticationError
from gateway.settings import Settings
from gateway.store.keys import KEY_PREFIX, DynamoKeyStore, key_hash

OPEN_TENANT = "default"
OPEN_KEY = "open"
"""The key id a local run without keys counts usage under."""


class Authenticator:
    def __init__(self, settings: Settings, keys: DynamoKeyStore | None) -> None:
        self._enabled = settings.auth_enabled
        self._limits = settings.limits()
        admins = set(settings.admin_key_pairs())
        self._static = {
            key_hash(key): Principal(tenant, key_hash(key)[:12], self._limits, admin=key in admins)
            for key, tenant in settings.static_keys().items()
        }
        self._open = Principal(OPEN_TENANT, OPEN_KEY, self._limits, admin=True)  # a local run without keys
        self._keys = keys
        self._ttl = settings.key_cache_seconds
        self._cache: dict[str, tuple[Principal, float]] = {}

    async def tenant(self, authorization: str | None) -> str:
        return (await self.principal(authorization)).tenant

    async def principal(self, authorization: str | None) -> Principal:
        """The caller; ``AuthenticationError`` for a missing, unknown or revoked key."""
        scheme, _, key = (authorization or "").partition(" ")
        key = key.strip()
        if not self._enabled:
            return await self._open_principal(key if scheme.lower() == "bearer" else "")
        if scheme.lower() != "bearer" or not key:
            raise AuthenticationError(
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="missing_api_key",
            )
        digest = key_hash(key)
        principal = self._static_principal(digest) or await self._stored_principal(digest)
        if principal is None:
            raise AuthenticationError(f"Incorrect API key provided: {_redact(key)}.", code="invalid_api_key")
        return principal

    async def _open_principal(self, key: str) -> Principal:
        """Auth off (``make run`` without keys): a gateway key (``make keys``) still names its tenant, so tenants
        can be tried locally; any other key, or none, is the open tenant."""
        if not key.startswith(KEY_PREFIX):
            return self._open
        principal = await self._stored_principal(key_hash(key))
        if principal is None:
            raise AuthenticationError(f"Incorrect API key provided: {_redact(key)}.", code="invalid_api_key")
        return principal

    def _static_principal(self, digest: str) -> Principal | None:
        found = None
        for known, principal in self._static.items():
            # Compare every entry in constant time so timing reveals nothing about which key matched.
            if hmac.compare_digest(known, digest):
                found = principal
        return found

    async def _stored_principal(self, digest: str) -> Principal | None:
        if self._keys is None:
            return None
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        record = await anyio.to_thread.run_sync(self._keys.lookup, digest)
        if record is None:
            return None
        principal = Principal(record.tenant, record.key_id, record.limits.merged(self._limits), admin=record.admin)
        self._cache[digest] = (principal, time.monotonic() + self._ttl)
        return principal


def _redact(key: str) -> str:
    return f"{key[:6]}***{key[-4:]}" if len(key) > 12 else "***"
