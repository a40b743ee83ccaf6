"""The provider secret (``RESPONSES_PROVIDER_SECRET_ID``) as deployed: the app and the worker built from the
environment alone, the secret in moto's Secrets Manager, a loopback upstream that records what it is sent.

The secret is read when the settings are built, which blocks; these tests pin where that happens (never on a
running event loop) and what a client and the log see when the secret cannot be used."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import boto3
import httpx
import pytest
from fastapi.testclient import TestClient

from gateway.api.app import create_app
from gateway.handlers import worker
from gateway.provider_secret import ProviderSecretSource
from gateway.settings import get_settings
from tests.conftest import BUCKET, SEALING_KEY, TABLE
from tests.fakes.upstream import FakeUpstream
from tests.integration.test_worker_event import LambdaContext, load_event

SECRET = "gateway/provider-keys"


@dataclass
class Reads:
    """Each read of the provider secret: the thread it ran on, and whether an event loop was running there."""

    threads: list[threading.Thread] = field(default_factory=list)
    on_a_loop: list[bool] = field(default_factory=list)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    seen = Reads()
    real = ProviderSecretSource._load_env_vars

    def recording(source: ProviderSecretSource) -> Mapping[str, str | None]:
        seen.threads.append(threading.current_thread())
        try:
            asyncio.get_running_loop()
            seen.on_a_loop.append(True)
        except RuntimeError:
            seen.on_a_loop.append(False)
        return real(source)

    monkeypatch.setattr(ProviderSecretSource, "_load_env_vars", recording)
    return seen


@pytest.fixture
def deployed(aws: None, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The deployed environment, naming the secret and nothing about the upstream; yields the upstream's URL."""
    with upstream.serve() as base_url:
        monkeypatch.setenv("RESPONSES_TABLE_NAME", TABLE)
        monkeypatch.setenv("RESPONSES_PAYLOAD_BUCKET", BUCKET)
        monkeypatch.setenv("RESPONSES_SEALING_KEYS", SEALING_KEY)
        monkeypatch.setenv("RESPONSES_PROVIDER_SECRET_ID", SECRET)
        yield base_url


def put_secret(value: str) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(Name=SECRET, SecretString=value)


@pytest.fixture
def app_client(deployed: str) -> Iterator[TestClient]:
    """The app as a Lambda builds it: no services given, so the first request builds them from the environment."""
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


def ask(client: TestClient) -> tuple[int, dict[str, object]]:
    reply = client.post("/v1/responses", json={"model": "openai/gpt-4o", "input": "ping"})
    body: dict[str, object] = reply.json()
    return reply.status_code, body


def test_the_secret_reaches_the_upstream_and_is_read_once_off_the_loop(
    deployed: str, app_client: TestClient, upstream: FakeUpstream, reads: Reads
) -> None:
    # Given a secret holding the openai provider's key and URL (the environment names neither)
    put_secret(json.dumps({"OPENAI_API_KEY": "sk-from-secret", "OPENAI_BASE_URL": deployed}))

    # When two requests arrive
    assert ask(app_client)[0] == 200
    assert ask(app_client)[0] == 200

    # Then the upstream got the secret's key, and the secret was read once, in a thread with no running loop
    assert [headers["authorization"] for headers in upstream.headers] == ["Bearer sk-from-secret"] * 2
    assert reads.on_a_loop == [False]
    assert reads.threads[0] is not threading.main_thread()


@pytest.mark.anyio
async def test_concurrent_first_requests_share_one_build(deployed: str, upstream: FakeUpstream, reads: Reads) -> None:
    # Given a cold app, and requests arriving together before anything is built
    put_secret(json.dumps({"OPENAI_API_KEY": "sk-from-secret", "OPENAI_BASE_URL": deployed}))
    app = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        replies = await asyncio.gather(
            *(client.post("/v1/responses", json={"model": "openai/gpt-4o", "input": f"ping {n}"}) for n in range(4))
        )
    await app.state.services.providers.aclose()

    # Then all are served with the secret's key, from one read of it, off the loop
    assert [reply.status_code for reply in replies] == [200] * 4
    assert {headers["authorization"] for headers in upstream.headers} == {"Bearer sk-from-secret"}
    assert reads.on_a_loop == [False]


def test_the_environment_wins_over_the_secret(
    deployed: str, app_client: TestClient, upstream: FakeUpstream, reads: Reads, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a key in both: an operator's override in the function's environment, and the secret's
    put_secret(json.dumps({"OPENAI_API_KEY": "sk-from-secret", "OPENAI_BASE_URL": deployed}))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-environment")

    assert ask(app_client)[0] == 200

    # Then the environment's is sent; what it leaves unset (the URL here) still comes from the secret
    assert upstream.headers[-1]["authorization"] == "Bearer sk-from-environment"
    assert reads.on_a_loop == [False]


def test_a_missing_secret_is_a_logged_server_error_until_it_exists(
    deployed: str, app_client: TestClient, upstream: FakeUpstream, caplog: pytest.LogCaptureFixture
) -> None:
    # Given no secret of that name
    with caplog.at_level(logging.ERROR, logger="gateway"):
        status, body = ask(app_client)

    # Then the client gets OpenAI's envelope saying nothing of the secret, and the log names it and why
    assert status == 500
    error = body["error"]
    assert isinstance(error, dict) and error["type"] == "server_error" and error["code"] == "server_error"
    assert SECRET not in error["message"]
    logged = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert any(SECRET in line and "ResourceNotFoundException" in line for line in logged), logged
    assert not upstream.requests

    # And once the operator puts the secret, the next request is served without a restart
    put_secret(json.dumps({"OPENAI_API_KEY": "sk-from-secret", "OPENAI_BASE_URL": deployed}))
    assert ask(app_client)[0] == 200
    assert upstream.headers[-1]["authorization"] == "Bearer sk-from-secret"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("leak-me-not-json", "expected a JSON object"),
        ('["leak-me"]', "expected a JSON object"),
        ('{"OPENAI_API_KEY": "leak-me", "RESPONSES_TTL_DAYS": 5}', "every value must be a string"),
    ],
)
def test_a_secret_of_the_wrong_shape_is_a_logged_server_error(
    app_client: TestClient, caplog: pytest.LogCaptureFixture, value: str, reason: str
) -> None:
    put_secret(value)
    with caplog.at_level(logging.ERROR, logger="gateway"):
        status, body = ask(app_client)
    assert status == 500 and isinstance(body["error"], dict) and body["error"]["type"] == "server_error"
    assert "leak-me" not in json.dumps(body)
    logged = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert any(SECRET in line and reason in line for line in logged), logged
    assert not any("leak-me" in line for line in logged), "the log must not quote the secret's value"


def test_the_worker_reads_the_secret_in_its_synchronous_handler(
    deployed: str, upstream: FakeUpstream, reads: Reads, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a background response queued through an app that knows the upstream, and a worker that only knows
    # the secret
    put_secret(json.dumps({"OPENAI_API_KEY": "sk-from-secret", "OPENAI_BASE_URL": deployed}))
    queue_url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="jobs")["QueueUrl"]
    monkeypatch.setenv("RESPONSES_QUEUE_URL", queue_url)
    worker.reset()
    try:
        with TestClient(create_app(), raise_server_exceptions=False) as client:
            created = client.post(
                "/v1/responses", json={"model": "openai/gpt-4o", "input": "ping", "background": True}
            ).json()
            assert created["status"] == "queued"

            # When the job's SQS event reaches the worker's Lambda, another process: it builds its own settings
            get_settings.cache_clear()
            assert worker.handler(load_event(created["id"]), LambdaContext()) == {"batchItemFailures": []}

            # Then the run used the secret's key; each process read the secret once, never on a running loop
            # (the worker's read is in the handler's own thread: Lambda calls it synchronously)
            assert client.get(f"/v1/responses/{created['id']}").json()["status"] == "completed"
    finally:
        worker.reset()
    assert upstream.headers[-1]["authorization"] == "Bearer sk-from-secret"
    assert reads.on_a_loop == [False, False]
    assert reads.threads[1] is threading.current_thread()
