"""An upstream that is missing or unreachable: the error names the setting to fix, the log names the URL and the
request (issue 13: ``make run`` with no upstream answered a bare ``ConnectError``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.api.deps import build_services
from gateway.providers.registry import ProviderRegistry
from tests.conftest import make_settings

BODY = {"model": "gpt-4o-mini", "input": "hi"}


def _client(transport: httpx.AsyncBaseTransport, **overrides: object) -> TestClient:
    settings = make_settings(**overrides)
    registry = ProviderRegistry(settings, http_transport=transport)
    return TestClient(create_app(build_services(settings, providers=registry)), raise_server_exceptions=False)


def _refusing(calls: list[httpx.Request]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    return httpx.MockTransport(handle)


def test_unreachable_openai_upstream_names_the_setting_and_logs_the_url(
    aws: None, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[httpx.Request] = []
    with (
        _client(_refusing(calls), openai_base_url="http://127.0.0.1:9/v1") as client,
        caplog.at_level(logging.WARNING, logger="gateway"),
    ):
        reply = client.post("/v1/responses", json=BODY)

    assert reply.status_code == 502 and calls
    message = reply.json()["error"]["message"]
    assert "OPENAI_BASE_URL" in message and "bedrock/" in message
    assert "127.0.0.1:9" not in message  # the operator's address stays in the log
    [line] = [record for record in caplog.records if "127.0.0.1:9" in record.getMessage()]
    assert line.__dict__["request_id"] == reply.headers["x-request-id"]


def test_unreachable_upstream_while_streaming_names_the_setting(aws: None) -> None:
    with _client(_refusing([]), openai_base_url="http://127.0.0.1:9/v1") as client:
        reply = client.post("/v1/responses", json={**BODY, "stream": True})
    failed = [json.loads(line[5:]) for line in reply.text.splitlines() if line.startswith("data:")][-1]
    assert failed["type"] == "response.failed"
    assert "OPENAI_BASE_URL" in failed["response"]["error"]["message"]


def test_no_openai_key_for_api_openai_com_fails_before_any_call(aws: None, caplog: pytest.LogCaptureFixture) -> None:
    calls: list[httpx.Request] = []
    with (
        _client(_refusing(calls), openai_api_key=None, openai_base_url="https://api.openai.com/v1") as client,
        caplog.at_level(logging.WARNING, logger="gateway"),
    ):
        reply = client.post("/v1/responses", json=BODY)

    assert reply.status_code == 502 and not calls
    assert reply.headers["x-should-retry"] == "false"
    message = reply.json()["error"]["message"]
    for setting in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "bedrock/"):
        assert setting in message
    [line] = [record for record in caplog.records if "OPENAI_API_KEY" in record.getMessage()]
    assert line.__dict__["request_id"] == reply.headers["x-request-id"]


def test_no_key_is_fine_for_a_local_openai_compatible_server(aws: None) -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, json={"error": {"message": "warming up"}})

    with _client(httpx.MockTransport(handle), openai_api_key=None, openai_base_url="http://127.0.0.1:11434/v1") as c:
        reply = c.post("/v1/responses", json=BODY)
    assert seen and "authorization" not in seen[0].headers
    assert "warming up" in reply.json()["error"]["message"]


def test_unreachable_named_upstream_names_the_providers_file(aws: None, tmp_path: Path) -> None:
    providers = tmp_path / "providers.json"
    providers.write_text(json.dumps({"local": {"base_url": "http://127.0.0.1:9/v1"}}))
    with _client(_refusing([]), providers_file=providers) as client:
        reply = client.post("/v1/responses", json={**BODY, "model": "local/llama"})
    message = reply.json()["error"]["message"]
    assert "'local'" in message and "RESPONSES_PROVIDERS_FILE" in message


@pytest.mark.parametrize("status", [500, 503, 429, 404])
def test_an_upstream_error_status_is_logged_with_the_request_id(
    aws: None, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"message": "upstream says no"}})

    with (
        _client(httpx.MockTransport(handle), openai_base_url="http://127.0.0.1:9/v1") as client,
        caplog.at_level(logging.INFO, logger="gateway"),
    ):
        reply = client.post("/v1/responses", json=BODY)
    [line] = [record for record in caplog.records if "127.0.0.1:9" in record.getMessage()]
    assert str(status) in line.getMessage()
    assert line.__dict__["request_id"] == reply.headers["x-request-id"]
    # A server-side failure's message helps the operator; a refusal's may quote the prompt, which is never logged.
    assert ("upstream says no" in line.getMessage()) == (status != 404)
