"""The official SDK on ``client.models`` and ``client.responses.input_tokens``; zstd and oversized bodies over HTTP.

A server of its own: it lists configured models, which the shared live server has none of. Its upstream
answers no ``GET /models`` (the fake speaks only POST), which the listing must survive.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import ExitStack

import boto3
import httpx
import openai
import pytest
from backports import zstd
from openai import OpenAI

from gateway.api.app import create_app
from gateway.api.deps import build_services
from gateway.settings import Settings
from gateway.store.schema import create_table
from tests.compat.live import KEY_A, MODEL, REGION, TABLE, UPSTREAM_KEY, moto_server, scrubbed_env, uvicorn_server
from tests.fakes.upstream import FakeUpstream

CLAUDE = "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, FakeUpstream]]:
    upstream = FakeUpstream()
    with ExitStack() as stack:
        upstream_url = stack.enter_context(upstream.serve())
        endpoint = stack.enter_context(moto_server())
        with scrubbed_env(endpoint):
            settings = Settings(
                table_name=f"{TABLE}-models",
                aws_region=REGION,
                openai_base_url=upstream_url,
                openai_api_key=UPSTREAM_KEY,
                api_keys=f"tenant-a:{KEY_A}",
                models=f"{MODEL},{CLAUDE}",
            )
            create_table(boto3.client("dynamodb", region_name=REGION), settings.table_name)
            services = build_services(settings)
        port = stack.enter_context(uvicorn_server(create_app(services)))
        yield f"http://127.0.0.1:{port}/v1", upstream


@pytest.fixture
def sdk(server: tuple[str, FakeUpstream]) -> Iterator[OpenAI]:
    with OpenAI(base_url=server[0], api_key=KEY_A, max_retries=0, timeout=10.0) as client:
        yield client


def test_models_list_and_retrieve(sdk: OpenAI) -> None:
    listed = sdk.models.list()

    assert [model.id for model in listed] == [MODEL, CLAUDE]
    assert [model.owned_by for model in listed] == ["openai", "bedrock"]
    claude = sdk.models.retrieve(CLAUDE)  # a slash in the id, however the SDK encodes it
    assert (claude.id, claude.object) == (CLAUDE, "model")
    with pytest.raises(openai.NotFoundError) as raised:
        sdk.models.retrieve("gpt-nonexistent")
    assert raised.value.code == "model_not_found"


def test_input_tokens_count(sdk: OpenAI, server: tuple[str, FakeUpstream]) -> None:
    sent_upstream = len(server[1].requests)
    counted = sdk.responses.input_tokens.count(model=MODEL, instructions="Be brief.", input="How many tokens?")

    assert counted.object == "response.input_tokens"
    # README's estimate over the body a create would send: 2 messages
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "How many tokens?"}]
    text = json.dumps({"messages": messages}, separators=(",", ":"))
    assert counted.input_tokens == math.ceil(len(text) / 4) + 4 * 2 + 3
    assert len(server[1].requests) == sent_upstream  # counting runs no model


def test_a_zstd_body_over_real_http(server: tuple[str, FakeUpstream]) -> None:
    body = zstd.compress(json.dumps({"model": MODEL, "input": "squeezed"}).encode())

    reply = httpx.post(
        f"{server[0]}/responses",
        content=body,
        headers={
            "authorization": f"Bearer {KEY_A}",
            "content-type": "application/json",
            "content-encoding": "zstd",
            "session_id": "s-1",
            "originator": "codex_cli_rs",
        },
    )

    assert reply.status_code == 200, reply.text
    assert reply.json()["output"][0]["content"][0]["text"] == "echo: squeezed"


def test_an_oversized_body_is_a_413_over_real_http(server: tuple[str, FakeUpstream]) -> None:
    # refused before it is read: the client still gets the envelope, with a length or sent chunked
    big = b'{"model":"gpt-4o-mini","input":"' + b"x" * (17 * 1024 * 1024) + b'"}'
    headers = {"authorization": f"Bearer {KEY_A}", "content-type": "application/json"}
    sent_upstream = len(server[1].requests)

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    for content in (big, chunked()):
        reply = httpx.post(f"{server[0]}/responses", content=content, headers=headers, timeout=30)
        assert reply.status_code == 413
        assert reply.json()["error"]["code"] == "request_too_large"
    assert len(server[1].requests) == sent_upstream
