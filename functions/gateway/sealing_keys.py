"""Where the sealing keys come from: a Secrets Manager secret when deployed, ``RESPONSES_SEALING_KEYS`` otherwise.

Read once per instance, on first use: a deployment without keys still serves everything that seals nothing, and
fails loudly (logged, and a ``server_error`` to the client) the first time it would have to seal or open, rather
than ever handing out state that is not sealed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable

from gateway.domain.sealing import Sealer
from gateway.errors import GatewayError
from gateway.settings import Settings

logger = logging.getLogger("gateway")

SecretReader = Callable[[str], str]
"""Secret id -> its ``SecretString``."""


class SealingNotConfiguredError(GatewayError):
    """The deployment has no usable sealing key, so it can neither issue nor accept ``encrypted_content``."""

    status_code = 500
    error_type = "server_error"

    def __init__(self, reason: str) -> None:
        # The reason names settings and secrets: it goes to the operator's log, not to the client.
        logger.error("sealing is not configured: %s", reason)
        super().__init__(
            "This deployment has no usable key for sealing encrypted_content; its operator must configure one.",
            code="server_error",
        )
        self.reason = reason


def parse_keys(value: str) -> list[bytes]:
    """``"<current>,<previous>,..."`` as master keys, the sealing one first."""
    return [key.encode() for key in (part.strip() for part in value.split(",")) if key]


def build_sealer(settings: Settings, *, read_secret: SecretReader | None = None) -> Sealer:
    """The sealer for these settings. Reads the secret if one is named, so it blocks: call it off the event loop
    (``SealerLoader.get`` does)."""
    if settings.sealing_secret_id:
        keys = _keys_from_secret(settings.sealing_secret_id, read_secret or _secrets_manager_reader(settings))
        where = f"secret {settings.sealing_secret_id}"
    else:
        keys = parse_keys(settings.sealing_keys)
        where = "RESPONSES_SEALING_KEYS"
    if not keys:
        raise SealingNotConfiguredError(
            f"no keys in {where} (set RESPONSES_SEALING_KEYS or RESPONSES_SEALING_SECRET_ID)"
        )
    try:
        return Sealer(keys)
    except ValueError as exc:
        raise SealingNotConfiguredError(f"{where}: {exc}") from None


class SealerLoader:
    """Builds the sealer on first use and keeps it for the life of the instance (successes only: a missing key
    or an unreadable secret is tried again on the next use, so fixing it needs no restart)."""

    def __init__(self, settings: Settings, *, read_secret: SecretReader | None = None) -> None:
        self._settings = settings
        self._read_secret = read_secret
        self._sealer: Sealer | None = None
        # A thread lock, not an asyncio one: the worker runs one event loop per invocation.
        self._lock = threading.Lock()

    async def get(self) -> Sealer:
        """The sealer; the first call reads the keys in a thread so the event loop keeps serving."""
        if self._sealer is not None:
            return self._sealer
        return await asyncio.to_thread(self.get_blocking)

    def get_blocking(self) -> Sealer:
        """The sealer, reading the keys in the calling thread if they have not been read yet."""
        with self._lock:
            if self._sealer is None:
                self._sealer = build_sealer(self._settings, read_secret=self._read_secret)
            return self._sealer


def _keys_from_secret(secret_id: str, read_secret: SecretReader) -> list[bytes]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = read_secret(secret_id)
    except ClientError as exc:
        raise SealingNotConfiguredError(f"cannot read secret {secret_id}: {exc.response['Error']['Code']}") from exc
    except BotoCoreError as exc:
        raise SealingNotConfiguredError(f"cannot read secret {secret_id}: {type(exc).__name__}") from exc
    try:
        loaded = json.loads(value)
    except ValueError:
        loaded = None
    if not isinstance(loaded, dict) or not isinstance(loaded.get("keys"), str):
        raise SealingNotConfiguredError(f'secret {secret_id} must hold a JSON object {{"keys": "<key>,..."}}')
    return parse_keys(loaded["keys"])


def _secrets_manager_reader(settings: Settings) -> SecretReader:
    def read(secret_id: str) -> str:
        import boto3

        client = boto3.client("secretsmanager", region_name=settings.aws_region)
        value: str = client.get_secret_value(SecretId=secret_id)["SecretString"]
        return value

    return read
