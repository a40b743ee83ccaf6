"""The live stack the SDK suite drives: constants, the upstream switchboard, moto and uvicorn on loopback."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from moto.server import ThreadedMotoServer
from openai import OpenAI

from tests.fakes.upstream import FakeUpstream, Reply, _handler_for

TABLE = "responses-compat"
REGION = "us-east-1"
MODEL = "gpt-4o-mini"
KEY_A = "key-a"
KEY_B = "key-b"
UPSTREAM_KEY = "sk-upstream-compat"
STARTUP_SECONDS = 10.0

SdkFactory = Callable[..., OpenAI]
"""Builds an SDK client for the live server: ``make_sdk(api_key=...)``."""


class Switchboard(FakeUpstream):
    """The upstream the server is wired to; it hands every request to the current test's ``FakeUpstream``
    and counts the TCP connections the gateway opens to it."""

    def __init__(self) -> None:
        super().__init__()
        self.current = FakeUpstream()
        self.connections = 0
        self._count_lock = threading.Lock()

    def respond(self, body: dict[str, Any], headers: dict[str, str]) -> Reply:
        return self.current.respond(body, headers)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """``FakeUpstream.serve`` with a handler that counts connections (one handler instance per connection)."""
        switchboard = self

        class CountingHandler(_handler_for(self)):  # type: ignore[misc]
            def setup(self) -> None:
                super().setup()
                with switchboard._count_lock:
                    switchboard.connections += 1

        server = ThreadingHTTPServer(("127.0.0.1", 0), CountingHandler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="compat-upstream", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/v1"
        finally:
            server.shutdown()
            server.server_close()


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    """``http://127.0.0.1:N/v1``, what the SDK takes as ``base_url``."""
    switchboard: Switchboard


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's HTTP server on a free loopback port, exactly as ``make run`` starts it."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


class _Server(uvicorn.Server):
    """uvicorn with a readiness event, so the fixture waits on it instead of polling."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@contextmanager
def uvicorn_server(app: FastAPI) -> Iterator[int]:
    """Serve ``app`` from a background thread on a free loopback port; yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
    server = _Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="compat-uvicorn", daemon=True)
    thread.start()
    try:
        if not server.ready.wait(STARTUP_SECONDS) or not server.started:
            raise RuntimeError("uvicorn did not start")
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(STARTUP_SECONDS)
        sock.close()


@contextmanager
def scrubbed_env(endpoint: str, services: tuple[str, ...] = ("DYNAMODB",)) -> Iterator[None]:
    """Only fake AWS credentials and moto's endpoint for ``services`` while boto3 clients are built (they keep
    both)."""
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith(("RESPONSES_", "AWS_", "OPENAI_")):
                env.delenv(name)
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.setenv("AWS_DEFAULT_REGION", REGION)
        for service in services:
            env.setenv(f"AWS_ENDPOINT_URL_{service}", endpoint)
        yield
