"""Loopback only, in the driver's own interpreter: ``test_llamaindex.py`` puts this folder on the driver's
``PYTHONPATH``, and Python imports ``sitecustomize`` at start-up. tests/conftest.py's guard covers the pytest
process only; this one makes a download (tiktoken encodings, NLTK data) fail the test instead of reaching out.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any

REFUSED = "loopback guard: refused"
"""Printed to stderr as well as raised: a library that swallows the error still leaves the mark."""

_real_connect = socket.socket.connect
_real_getaddrinfo = socket.getaddrinfo


def _is_loopback(host: Any) -> bool:
    if host in (None, "localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse(host: Any) -> RuntimeError:
    print(f"{REFUSED} {host}", file=sys.stderr, flush=True)
    return RuntimeError(f"{REFUSED} {host}: tests may only use loopback")


def _connect(sock: socket.socket, address: Any) -> Any:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
        raise _refuse(address[0])
    return _real_connect(sock, address)


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    # Refused before the lookup, so not even a DNS query leaves the machine.
    if isinstance(host, bytes):
        host = host.decode()
    if not _is_loopback(host):
        raise _refuse(host)
    return _real_getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _connect  # type: ignore[method-assign,assignment]
socket.getaddrinfo = _getaddrinfo
