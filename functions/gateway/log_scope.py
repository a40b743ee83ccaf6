"""A log scope: the fields (request id, tenant, job) every log line made inside it carries.

A leaf module, so that any layer, the domain included, can add a field (``bind``) without depending on how lines
are formatted (``logs.py`` installs the record factory that reads the scope).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

Fields = dict[str, object]

_scope: ContextVar[Fields | None] = ContextVar("gateway_log_scope", default=None)


def open_scope(**fields: object) -> Token[Fields | None]:
    """Start a scope (inheriting the enclosing one's fields); ``close_scope`` with the token ends it."""
    return _scope.set({**(_scope.get() or {}), **fields})


def close_scope(token: Token[Fields | None]) -> None:
    _scope.reset(token)


@contextmanager
def log_scope(**fields: object) -> Iterator[None]:
    token = open_scope(**fields)
    try:
        yield
    finally:
        close_scope(token)


def bind(**fields: object) -> None:
    """Add fields to the current scope for the rest of it, in every task it started or starts (they share the
    scope's dict): the tenant is known only once a route has checked the key. Outside a scope, nothing."""
    fields_now = _scope.get()
    if fields_now is not None:
        fields_now.update(fields)


def current_fields() -> Fields | None:
    """The fields of the scope a line is made in, if any."""
    return _scope.get()
