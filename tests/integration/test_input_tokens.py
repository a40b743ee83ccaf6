"""``POST /v1/responses/input_tokens``: Bedrock's own count of what a create would send, else the estimate."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from backports import zstd
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.api.deps import build_services
from gateway.providers.registry import ProviderRegistry
from tests.conftest import make_settings
from tests.fakes.bedrock import FakeBedrock, message_start, message_stop, stream, text_reply, tool_use
from tests.fakes.upstream import FakeUpstream

CLAUDE_ID = "anthropic.claude-sonnet-4-5-20250929-v1:0"
CLAUDE = f"bedrock/us.{CLAUDE_ID}"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
Json = dict[str, Any]


class Counter:
    """Bedrock's ``CountTokens`` answered inside botocore, like ``FakeBedrock`` answers ``ConverseStream``."""

    def __init__(self) -> None:
        self.requests: list[Json] = []
        self.model_ids: list[str] = []
        self.reply: tuple[int, Json] = (200, {"inputTokens": 42})

    def answer(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        assert isinstance(request.body, bytes | str)
        self.requests.append(json.loads(request.body))
        path = urlsplit(request.url).path
        self.model_ids.append(unquote(path.removeprefix("/model/").removesuffix("/count-tokens")))
        status, payload = self.reply
        headers: Any = {"content-type": "application/json"}
        if status >= 400:
            headers["x-amzn-errortype"] = payload.pop("__type")
        return AWSResponse(request.url, status, headers, _Raw(json.dumps(payload).encode()))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@pytest.fixture
def bedrock() -> FakeBedrock:
    return FakeBedrock()


@pytest.fixture
def counter() -> Counter:
    return Counter()


@pytest.fixture
def api(aws: None, bedrock: FakeBedrock, counter: Counter) -> Iterator[TestClient]:
    client = bedrock.client()
    client.meta.events.register("before-send.bedrock-runtime.CountTokens", counter.answer)
    settings = make_settings()
    app = create_app(build_services(settings, providers=ProviderRegistry(settings, bedrock_client=client)))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def count(client: TestClient, **body: Any) -> Any:
    return client.post("/v1/responses/input_tokens", json=body)


def tokens(reply: Any) -> int:
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert set(body) == {"object", "input_tokens"}
    assert body["object"] == "response.input_tokens"
    result: int = body["input_tokens"]
    return result


# Bedrock: CountTokens -----------------------------------------------------------------------------------------


def test_bedrock_counts_the_converse_request_a_create_would_send(
    api: TestClient, bedrock: FakeBedrock, counter: Counter
) -> None:
    body = {
        "model": CLAUDE,
        "instructions": "Answer briefly.",
        "input": "Weather in Paris?",
        "tools": [WEATHER],
        "reasoning": {"effort": "low"},
    }
    # WHEN the same body is counted and created
    assert tokens(count(api, **body)) == 42
    bedrock.add(text_reply("ok"))
    assert api.post("/v1/responses", json=body).status_code == 200

    # THEN CountTokens got the input fields of that ConverseStream request, on the foundation model
    [counted] = counter.requests
    sent = bedrock.last_request
    assert counted == {
        "input": {
            "converse": {key: sent[key] for key in ("messages", "system", "toolConfig", "additionalModelRequestFields")}
        }
    }
    assert counted["input"]["converse"]["messages"] == [{"role": "user", "content": [{"text": "Weather in Paris?"}]}]
    assert counted["input"]["converse"]["system"][0] == {"text": "Answer briefly."}
    assert counted["input"]["converse"]["toolConfig"]["tools"][0]["toolSpec"]["name"] == "get_weather"
    assert counted["input"]["converse"]["additionalModelRequestFields"]["thinking"]["type"] == "enabled"
    # a cross-region profile is counted on the model it routes to; the create used the profile
    assert counter.model_ids == [CLAUDE_ID]
    assert bedrock.model_ids == [CLAUDE.removeprefix("bedrock/")]


def test_bedrock_counts_the_chain_at_previous_response_id(
    api: TestClient, bedrock: FakeBedrock, counter: Counter
) -> None:
    bedrock.add(
        stream(message_start(), tool_use(0, "tooluse_7", "get_weather", '{"city": "Paris"}'), message_stop("tool_use"))
    )
    first = api.post("/v1/responses", json={"model": CLAUDE, "input": "Weather in Paris?", "tools": [WEATHER]})
    assert first.status_code == 200, first.text

    reply = count(
        api,
        model=CLAUDE,
        previous_response_id=first.json()["id"],
        tools=[WEATHER],
        input=[{"type": "function_call_output", "call_id": "tooluse_7", "output": "18C"}],
    )

    assert tokens(reply) == 42
    assert counter.requests[0]["input"]["converse"]["messages"] == [
        {"role": "user", "content": [{"text": "Weather in Paris?"}]},
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "tooluse_7", "name": "get_weather", "input": {"city": "Paris"}}}],
        },
        {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_7", "content": [{"text": "18C"}]}}]},
    ]
    assert len(bedrock.requests) == 1  # counting never runs the model


def test_a_bedrock_refusal_keeps_its_meaning(api: TestClient, counter: Counter) -> None:
    counter.reply = (
        400,
        {"__type": "ValidationException", "message": "The provided model doesn't support counting tokens."},
    )

    reply = count(api, model=CLAUDE, input="hi")

    assert reply.status_code == 400
    assert "doesn't support counting tokens" in reply.json()["error"]["message"]


def test_a_compressed_count_request_is_read_like_any_body(api: TestClient, counter: Counter) -> None:
    payload = zstd.compress(json.dumps({"model": CLAUDE, "input": "compressed"}).encode())

    reply = api.post(
        "/v1/responses/input_tokens",
        content=payload,
        headers={"content-type": "application/json", "content-encoding": "zstd"},
    )

    assert tokens(reply) == 42
    assert counter.requests[0]["input"]["converse"]["messages"][0]["content"] == [{"text": "compressed"}]


# OpenAI-compatible upstreams: the documented estimate --------------------------------------------------------


def estimate(counted: Json, messages: int, images: int = 0) -> int:
    """README's estimate: compact JSON of messages/tools/format at 4 characters a token, 765 an image, 4 a message
    and 3 for the reply."""
    text = json.dumps(counted, ensure_ascii=False, separators=(",", ":"))
    return math.ceil(len(text) / 4) + 765 * images + 4 * messages + 3


def test_an_openai_compatible_model_gets_the_estimate_and_no_upstream_call(
    client: TestClient, upstream: FakeUpstream
) -> None:
    reply = count(client, model="gpt-4o-mini", instructions="Be brief.", input="Hello there, how are you today?")

    expected = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hello there, how are you today?"},
        ]
    }
    assert tokens(reply) == estimate(expected, messages=2)
    assert upstream.requests == []


def test_the_estimate_counts_images_by_count_not_by_bytes(client: TestClient) -> None:
    data_url = "data:image/png;base64," + "iVBORw0KGgo" * 5000
    image = [{"type": "input_image", "image_url": data_url, "detail": "high"}]
    text = [{"type": "input_text", "text": "What is this?"}]

    with_image = tokens(count(client, model="gpt-4o-mini", input=[{"role": "user", "content": text + image}]))
    without = tokens(count(client, model="gpt-4o-mini", input=[{"role": "user", "content": text}]))

    assert 765 <= with_image - without < 800


def test_the_estimate_is_over_the_body_a_create_sends(client: TestClient, upstream: FakeUpstream) -> None:
    first = client.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "Hi"})
    assert first.status_code == 200, first.text
    body = {"model": "gpt-4o-mini", "previous_response_id": first.json()["id"], "input": "Again", "tools": [WEATHER]}

    counted = tokens(count(client, **body))
    assert client.post("/v1/responses", json=body).status_code == 200

    sent = upstream.last
    assert sent["messages"] == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "echo: Hi"},
        {"role": "user", "content": "Again"},
    ]
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    expected: Json = {key: sent[key] for key in ("messages", "tools", "tool_choice", "response_format") if key in sent}
    assert counted == estimate(expected, messages=3)


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        ({"model": "gpt-4o-mini", "input": "hi", "stream": True}, 400, "stream", "unknown_parameter"),
        ({"model": "gpt-4o-mini", "input": "hi", "store": False}, 400, "store", "unknown_parameter"),
        ({"input": "hi"}, 400, "model", "missing_required_parameter"),
        ({"model": "gpt-4o-mini", "input": "hi", "conversation": "conv_123"}, 404, "conversation", None),
        ({"model": "gpt-4o-mini", "previous_response_id": "resp_missing"}, 400, "previous_response_id", None),
    ],
)
def test_count_requests_are_checked_like_a_create(
    client: TestClient, upstream: FakeUpstream, body: Json, status: int, param: str, code: str | None
) -> None:
    reply = client.post("/v1/responses/input_tokens", json=body)

    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    assert upstream.requests == []


def test_counting_needs_a_key(make_client: Any) -> None:
    client = make_client(api_keys="tenant-a:sk-right")

    reply = client.post(
        "/v1/responses/input_tokens",
        json={"model": "gpt-4o-mini", "input": "hi"},
        headers={"authorization": "Bearer sk-wrong"},
    )

    assert reply.status_code == 401
