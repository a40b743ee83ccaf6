"""``GET /v1/models`` and ``GET /v1/models/{id}``: configured names plus the upstreams' own listings."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.api.deps import build_services
from gateway.providers.registry import ProviderRegistry
from tests.conftest import make_settings
from tests.fakes.upstream import FakeUpstream

CLAUDE = "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
GPT_OSS = "bedrock/openai.gpt-oss-120b-1:0"
KEY = "sk-test-models"
OPENAI_LISTING = {
    "object": "list",
    "data": [
        {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
        {"id": "gpt-5", "object": "model", "created": 1754425777, "owned_by": "openai"},
    ],
}
LOCAL_LISTING = {"object": "list", "data": [{"id": "llama3.1:8b", "object": "model"}]}

Handler = Callable[[httpx.Request], httpx.Response]


class Upstreams:
    """The network under the registry's HTTP client: ``GET …/models`` answered per host, chat posts by the fake."""

    def __init__(self, upstream: FakeUpstream) -> None:
        self.listings: dict[str, Handler] = {}
        self.model_requests: list[httpx.Request] = []
        self._chat = upstream.transport()

    def transport(self) -> httpx.AsyncBaseTransport:
        async def handle(request: httpx.Request) -> httpx.Response:
            if request.method == "GET" and request.url.path.endswith("/models"):
                self.model_requests.append(request)
                return self.listings[request.url.host](request)
            return await self._chat.handle_async_request(request)

        return httpx.MockTransport(handle)


@pytest.fixture
def upstreams(upstream: FakeUpstream) -> Upstreams:
    network = Upstreams(upstream)
    network.listings["upstream.test"] = lambda _: httpx.Response(200, json=OPENAI_LISTING)
    network.listings["local.test"] = lambda _: httpx.Response(200, json=LOCAL_LISTING)
    return network


@pytest.fixture
def make_api(aws: None, upstreams: Upstreams, tmp_path: Path) -> Iterator[Callable[..., TestClient]]:
    providers_file = tmp_path / "providers.json"
    providers_file.write_text(json.dumps({"local": {"base_url": "http://local.test/v1"}}))
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> TestClient:
        settings = make_settings(providers_file=providers_file, api_keys=f"tenant-a:{KEY}", **overrides)
        registry = ProviderRegistry(settings, http_transport=upstreams.transport())
        client = TestClient(create_app(build_services(settings, providers=registry)), raise_server_exceptions=False)
        client.headers["authorization"] = f"Bearer {KEY}"
        client.__enter__()
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.__exit__(None, None, None)


def ids(reply: Any) -> list[str]:
    assert reply.status_code == 200, reply.text
    return [model["id"] for model in reply.json()["data"]]


def test_the_listing_has_configured_models_then_each_upstreams_own(
    make_api: Callable[..., TestClient], upstreams: Upstreams
) -> None:
    api = make_api(models=f"{CLAUDE}, gpt-5 ,local/llama3.1:8b,{CLAUDE}")

    reply = api.get("/v1/models")

    body = reply.json()
    assert body["object"] == "list"
    assert "models" not in body  # Codex's shape only when Codex asks (client_version)
    assert body["data"] == [
        {"id": CLAUDE, "object": "model", "created": 0, "owned_by": "bedrock"},
        {"id": "gpt-5", "object": "model", "created": 0, "owned_by": "openai"},
        {"id": "local/llama3.1:8b", "object": "model", "created": 0, "owned_by": "local"},
        # the default provider's models by their bare names, which is how callers name them
        {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
        # other upstreams' under their prefix; an entry without owned_by is owned by its upstream
    ]
    # the upstreams were asked with their own credentials
    auth = {request.url.host: request.headers.get("authorization") for request in upstreams.model_requests}
    assert auth == {"upstream.test": "Bearer sk-upstream-test", "local.test": None}
    assert str(upstreams.model_requests[0].url) == "http://upstream.test/v1/models"


def test_an_upstream_prefix_is_added_for_non_default_providers(make_api: Callable[..., TestClient]) -> None:
    api = make_api()

    assert ids(api.get("/v1/models")) == ["gpt-4o-mini", "gpt-5", "local/llama3.1:8b"]


def test_a_failing_or_unreachable_upstream_never_fails_the_listing(
    make_api: Callable[..., TestClient], upstreams: Upstreams
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    upstreams.listings["upstream.test"] = refuse
    upstreams.listings["local.test"] = lambda _: httpx.Response(404, json={"error": {"message": "no such route"}})
    api = make_api(models=CLAUDE)

    assert ids(api.get("/v1/models")) == [CLAUDE]


def test_upstream_listings_are_cached(make_api: Callable[..., TestClient], upstreams: Upstreams) -> None:
    api = make_api()

    first, second = ids(api.get("/v1/models")), ids(api.get("/v1/models"))

    assert first == second
    assert len(upstreams.model_requests) == 2  # one per upstream, not per listing


def test_upstream_listings_can_be_switched_off(make_api: Callable[..., TestClient], upstreams: Upstreams) -> None:
    api = make_api(models="gpt-5", list_upstream_models=False)

    assert ids(api.get("/v1/models")) == ["gpt-5"]
    assert upstreams.model_requests == []


def test_openai_is_not_asked_when_nothing_says_it_is_in_use(
    make_api: Callable[..., TestClient], upstreams: Upstreams
) -> None:
    api = make_api(default_provider="bedrock", openai_api_key=None, models=CLAUDE)

    assert ids(api.get("/v1/models")) == [CLAUDE, "local/llama3.1:8b"]
    assert [request.url.host for request in upstreams.model_requests] == ["local.test"]


@pytest.mark.parametrize("model_id", [CLAUDE, "gpt-4o-mini", "local/llama3.1:8b"])
def test_one_model_by_id_slashes_included(make_api: Callable[..., TestClient], model_id: str) -> None:
    api = make_api(models=CLAUDE)

    reply = api.get(f"/v1/models/{model_id}")

    assert reply.status_code == 200, reply.text
    assert reply.json()["id"] == model_id
    assert reply.json()["object"] == "model"


def test_an_unknown_model_is_a_404_envelope(make_api: Callable[..., TestClient]) -> None:
    reply = make_api().get("/v1/models/gpt-nonexistent")

    assert reply.status_code == 404
    assert reply.json() == {
        "error": {
            "message": "The model 'gpt-nonexistent' does not exist",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_found",
        }
    }


@pytest.mark.parametrize("path", ["/v1/models", f"/v1/models/{CLAUDE}"])
def test_models_need_a_key_like_every_route(make_api: Callable[..., TestClient], path: str) -> None:
    api = make_api(models=CLAUDE)

    reply = api.get(path, headers={"authorization": "Bearer sk-wrong"})

    assert reply.status_code == 401
    assert reply.json()["error"]["type"] == "invalid_request_error"


def test_codex_gets_an_empty_catalog_it_accepts_beside_the_list(make_api: Callable[..., TestClient]) -> None:
    api = make_api(models=f"{CLAUDE},{GPT_OSS}", list_upstream_models=False)

    # codex-rs ModelsClient: GET {base_url}/models?client_version=<its version>, read as {"models": [...]}.
    # An entry would have to carry a system prompt replacing Codex's own, so there are none (module docstring).
    body = api.get("/v1/models", params={"client_version": "0.171.0"}).json()

    assert body == {
        "object": "list",
        "data": [
            {"id": CLAUDE, "object": "model", "created": 0, "owned_by": "bedrock"},
            {"id": GPT_OSS, "object": "model", "created": 0, "owned_by": "bedrock"},
        ],
        "models": [],
    }
