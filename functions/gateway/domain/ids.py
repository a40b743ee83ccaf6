"""Ids and the clock.

A response id carries its conversation thread: ``resp_`` + 24 hex of thread + 26 hex of its own (50 hex, the
length of OpenAI's ids). Item ids do the same. So a chained turn finds every ancestor with one DynamoDB Query on
the thread's partition, whatever the depth, and an ``item_reference`` knows where its item lives.
"""

from __future__ import annotations

import re
import secrets
import time

THREAD_HEX = 24
_OWN_BYTES = 13  # 26 hex digits
_ID = re.compile(r"^[a-z]+_([0-9a-f]{24})[0-9a-f]{26}$")


def new_thread() -> str:
    """A fresh thread key for a response that continues nothing."""
    return secrets.token_hex(THREAD_HEX // 2)


def new_id(prefix: str, thread: str) -> str:
    """An id such as ``resp_…`` or ``msg_…`` that belongs to ``thread``."""
    return f"{prefix}_{thread}{secrets.token_hex(_OWN_BYTES)}"


def thread_of(identifier: str) -> str | None:
    """The thread an id belongs to, or None for ids the gateway did not mint."""
    match = _ID.match(identifier)
    return match.group(1) if match else None


def now() -> int:
    """Unix seconds, the unit of ``created_at`` and ``completed_at``."""
    return int(time.time())
