"""Sealing: authenticated encryption of the opaque state handed to clients in ``encrypted_content``.

A token is ``gw1.<key id>.<base64url(nonce | ciphertext | tag)>``: AES-256-GCM under a key derived with HKDF
from a master key and the tenant, with the header, the purpose and the tenant as associated data. So a client
can carry it between stateless turns but cannot read it, alter it, or replay it into another tenant (a
different key) or as another kind of state (a different purpose). Several master keys may open tokens; the
first seals, which is how a key is rotated. The key id names the master key without revealing anything of it.

``cryptography`` is imported on the first seal or open, not with this module: it costs about 8 ms of import,
and most requests never seal anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from gateway.errors import InvalidRequestError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "gw1"
REASONING = "reasoning"
COMPACTION = "compaction"
MIN_KEY_BYTES = 32
"""Master keys are HKDF input key material: any string with at least 256 bits of randomness will do."""
MAX_TOKEN_CHARS = 10 * 1024 * 1024
"""API Gateway's request payload limit: no longer token can come back, so none is worth decoding."""
MAX_PLAINTEXT_BYTES = 64 * 1024 * 1024
"""Bound on decompression, should a token ever open that this code did not seal."""
COMPRESS_FROM_BYTES = 128
"""Shorter plaintexts are sealed as they are; zlib's header and checksum outweigh what it could save."""

_NONCE_BYTES = 12
_TAG_BYTES = 16
_RAW, _ZLIB = b"\x00", b"\x01"
"""First plaintext byte, sealed with the rest: how the remainder is encoded."""
_SALT = b"responses-gateway sealing " + VERSION.encode()
_PURPOSE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]+$")
_KEY_ID_CHARS = 8


class InvalidEncryptedContentError(InvalidRequestError):
    """A token that did not open: altered, truncated, sealed for another tenant or purpose, or by an unknown key."""

    def __init__(self, item_id: str | None = None) -> None:
        subject = f"The encrypted content for item {item_id}" if item_id else "The encrypted content"
        super().__init__(
            f"{subject} could not be verified: it was altered, or it belongs to another organization or deployment.",
            param="input",
            code="invalid_encrypted_content",
        )


def key_id(master_key: bytes) -> str:
    """A short public name for a master key (a truncated hash: it reveals nothing usable of the key)."""
    digest = hashlib.sha256(_SALT + b" key id\x00" + master_key).digest()
    return base64.urlsafe_b64encode(digest).decode()[:_KEY_ID_CHARS]


class Sealer:
    """Seals and opens tokens for any tenant with the given master keys (the first one seals)."""

    def __init__(self, master_keys: Sequence[bytes]) -> None:
        if not master_keys:
            raise ValueError("sealing needs at least one master key")
        short = [i for i, key in enumerate(master_keys) if len(key) < MIN_KEY_BYTES]
        if short:
            raise ValueError(f"sealing keys must be at least {MIN_KEY_BYTES} bytes; key(s) {short} are shorter")
        self._keys = {key_id(key): key for key in master_keys}
        if len(self._keys) != len(master_keys):
            raise ValueError("sealing keys must be distinct")
        self._current = key_id(master_keys[0])
        # Per instance, not a module-level cache on the method, so a discarded Sealer takes its keys with it.
        self._aead = lru_cache(maxsize=1024)(self._derive)

    @property
    def key_ids(self) -> tuple[str, ...]:
        """The ids of the keys that open tokens, the sealing key's first."""
        return (self._current, *(kid for kid in self._keys if kid != self._current))

    def seal(self, tenant: str, purpose: str, plaintext: bytes) -> str:
        """A token only ``open(tenant, purpose, ...)`` with one of this sealer's keys can turn back into
        ``plaintext``."""
        _check(tenant, purpose)
        header = f"{VERSION}.{self._current}"
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead(self._current, tenant).encrypt(nonce, _encode(plaintext), _aad(header, tenant, purpose))
        return f"{header}.{base64.urlsafe_b64encode(nonce + sealed).rstrip(b'=').decode()}"

    def open(self, tenant: str, purpose: str, token: str) -> bytes:
        """The plaintext sealed in ``token`` for this tenant and purpose, or ``InvalidEncryptedContentError``."""
        _check(tenant, purpose)
        from cryptography.exceptions import InvalidTag

        version, kid, body = _split(token)
        if version != VERSION or kid not in self._keys:
            raise InvalidEncryptedContentError
        data = _decode_body(body)
        if len(data) < _NONCE_BYTES + _TAG_BYTES + 1:
            raise InvalidEncryptedContentError
        try:
            encoded = self._aead(kid, tenant).decrypt(
                data[:_NONCE_BYTES], data[_NONCE_BYTES:], _aad(f"{version}.{kid}", tenant, purpose)
            )
        except InvalidTag:
            raise InvalidEncryptedContentError from None
        return _decode(encoded)

    def _derive(self, kid: str, tenant: str) -> AESGCM:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=tenant.encode())
        return AESGCM(hkdf.derive(self._keys[kid]))


def _check(tenant: str, purpose: str) -> None:
    """Both come from the gateway's own code, never from the client: a bad one is a bug, not a 400."""
    if not tenant:
        raise ValueError("sealing needs a tenant")
    if not _PURPOSE.match(purpose):
        raise ValueError(f"sealing purpose must be a short lowercase name, got {purpose!r}")


def _aad(header: str, tenant: str, purpose: str) -> bytes:
    # The purpose cannot contain NUL (see _PURPOSE) and the tenant comes last, so the encoding is unambiguous.
    return f"{header}\x00{purpose}\x00{tenant}".encode()


def _split(token: object) -> tuple[str, str, str]:
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        raise InvalidEncryptedContentError
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidEncryptedContentError
    return parts[0], parts[1], parts[2]


def _decode_body(body: str) -> bytes:
    """Strict base64url: only the alphabet, no padding, and only the one canonical spelling of the bytes (so no
    two different tokens open to the same plaintext)."""
    if not _BASE64URL.match(body) or len(body) % 4 == 1:
        raise InvalidEncryptedContentError
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise InvalidEncryptedContentError from None
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != body:
        raise InvalidEncryptedContentError
    return data


def _encode(plaintext: bytes) -> bytes:
    if len(plaintext) >= COMPRESS_FROM_BYTES:
        compressed = zlib.compress(plaintext, 6)
        if len(compressed) < len(plaintext):
            return _ZLIB + compressed
    return _RAW + plaintext


def _decode(encoded: bytes) -> bytes:
    flag, rest = encoded[:1], encoded[1:]
    if flag == _RAW:
        return rest
    if flag == _ZLIB:
        inflater = zlib.decompressobj()
        try:
            plaintext = inflater.decompress(rest, MAX_PLAINTEXT_BYTES)
        except zlib.error:
            raise InvalidEncryptedContentError from None
        if inflater.eof and not inflater.unconsumed_tail and not inflater.unused_data:
            return plaintext
    raise InvalidEncryptedContentError
