"""A live gateway for the official ``openai`` SDK: real HTTP on loopback, end to end.

One server per run of this package (moto + uvicorn take about a second to start):

    openai.OpenAI ──HTTP──> uvicorn(create_app) ──HTTP──> FakeUpstream.serve()  (Chat Completions)
                                   └──────────HTTP──> moto ThreadedMotoServer   (DynamoDB, as `make run`)

Each test still gets a fresh ``FakeUpstream`` (script and recorded requests) through a switchboard, so nothing
leaks between tests. The package-scoped fixture is set up *before* the root conftest's autouse ``_isolated_env``,
so it builds ``Settings`` explicitly and builds its clients inside a scrubbed environment of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import boto3
import pytest
from openai import OpenAI

from gateway.api.app import create_app
from gateway.api.deps import build_services
from gateway.settings import Settings
from gateway.store.schema import create_table
from tests.compat.live import (
    KEY_A,
    KEY_B,
    REGION,
    TABLE,
    UPSTREAM_KEY,
    LiveServer,
    SdkFactory,
    Switchboard,
    moto_server,
    scrubbed_env,
    uvicorn_server,
)
from tests.fakes.upstream import FakeUpstream


@pytest.fixture(scope="package")
def live_server() -> Iterator[LiveServer]:
    switchboard = Switchboard()
    with ExitStack() as stack:
        upstream_url = stack.enter_context(switchboard.serve())
        endpoint = stack.enter_context(moto_server())
        with scrubbed_env(endpoint):
            settings = Settings(
                sealing_keys="compat-sealing-key-0123456789abcdef-fixed",
                table_name=TABLE,
                aws_region=REGION,
                openai_base_url=upstream_url,
                openai_api_key=UPSTREAM_KEY,
                api_keys=f"tenant-a:{KEY_A},tenant-b:{KEY_B}",
            )
            create_table(boto3.client("dynamodb", region_name=REGION), TABLE)
            services = build_services(settings)
        port = stack.enter_context(uvicorn_server(create_app(services)))
        yield LiveServer(base_url=f"http://127.0.0.1:{port}/v1", switchboard=switchboard)


@pytest.fixture
def upstream(live_server: LiveServer) -> FakeUpstream:
    """This test's upstream: a fresh script and request log behind the live server."""
    fresh = FakeUpstream()
    live_server.switchboard.current = fresh
    return fresh


@pytest.fixture
def make_sdk(live_server: LiveServer, upstream: FakeUpstream) -> Iterator[SdkFactory]:
    """SDK clients for the live server: tenant A's key unless told otherwise, never retrying."""
    clients: list[OpenAI] = []

    def factory(api_key: str = KEY_A) -> OpenAI:
        client = OpenAI(base_url=live_server.base_url, api_key=api_key, max_retries=0, timeout=10.0)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


@pytest.fixture
def client(make_sdk: SdkFactory) -> OpenAI:
    """Tenant A's client."""
    return make_sdk()
