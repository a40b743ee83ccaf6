"""Shared fixtures: fake AWS credentials, moto, the fake upstream, and app clients wired to them.

No test reaches beyond loopback: outbound connections to any other address fail loudly.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from gateway.api.app import create_app
from gateway.api.deps import build_services
from gateway.providers.registry import ProviderRegistry
from gateway.settings import Settings, get_settings
from gateway.store.schema import create_table
from tests.fakes.upstream import FakeUpstream

pytest_plugins = ("tests.contract.plugin",)
"""Every reply the gateway sends in a test is judged against OpenAI's and Open Responses' schemas
(tests/contract/README.md)."""

TABLE = "responses-test"
SEALING_KEY = "test-sealing-key-0123456789abcdef-fixed"
"""A fixed master key: sealed reasoning state from one app instance opens in another, as across Lambda instances."""
BUCKET = "responses-payloads-test"
_real_connect = socket.socket.connect


def _loopback_only(sock: socket.socket, address: Any) -> Any:
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise RuntimeError(f"test tried to reach {host}: tests may only use loopback")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake AWS credentials, no inherited gateway or AWS endpoint settings, loopback-only sockets."""
    for name in list(os.environ):
        if name.startswith(("RESPONSES_", "AWS_", "OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="us-east-1"), TABLE)
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        yield


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "table_name": TABLE,
        "payload_bucket": BUCKET,
        "openai_api_key": "sk-upstream-test",
        "openai_base_url": "http://upstream.test/v1",
        "sealing_keys": SEALING_KEY,
        **overrides,
    }
    return Settings(**values)


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(aws: None, upstream: FakeUpstream) -> Iterator[AppFactory]:
    """Build a TestClient for the real app with real adapters; only the upstream's network is faked."""
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> TestClient:
        settings = make_settings(**overrides)
        registry = ProviderRegistry(settings, http_transport=upstream.transport())
        client = TestClient(create_app(build_services(settings, providers=registry)), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()
