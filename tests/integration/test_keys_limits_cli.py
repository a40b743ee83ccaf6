"""The keys CLI's limits and usage: ``create --rpm/--tpm/--tokens-per-day/--admin``, ``limits``, ``usage``."""

from __future__ import annotations

import time

import pytest

from gateway import keys
from gateway.settings import get_settings
from tests.conftest import TABLE, AppFactory
from tests.fakes.upstream import FakeUpstream, text_reply, usage_chunk

BODY = {"model": "gpt-4o-mini", "input": "hi"}


@pytest.fixture
def cli(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESPONSES_TABLE_NAME", TABLE)
    get_settings.cache_clear()


def _create(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[str, str]:
    assert keys.main(["create", "--tenant", "acme", *args]) == 0
    lines = capsys.readouterr().out.splitlines()
    return lines[0].removeprefix("key id: "), lines[2]


def test_a_key_created_with_rpm_is_limited_and_limits_can_be_changed(
    cli: None, make_client: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    key_id, secret = _create(capsys, "--rpm", "2")
    client = make_client(require_auth=True, key_cache_seconds=0)
    headers = {"authorization": f"Bearer {secret}"}
    statuses = [client.post("/v1/responses", json=BODY, headers=headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]

    assert keys.main(["limits", key_id, "--rpm", "10"]) == 0
    assert "rpm=10" in capsys.readouterr().out
    reply = client.post("/v1/responses", json=BODY, headers=headers)
    assert reply.status_code == 200 and reply.headers["x-ratelimit-limit-requests"] == "10"

    assert keys.main(["list"]) == 0
    assert "rpm=10" in capsys.readouterr().out
    assert keys.main(["limits", "000000000000", "--rpm", "1"]) == 1


def test_an_admin_key_reads_the_usage_api_and_the_cli_prints_the_ledger(
    cli: None, make_client: AppFactory, upstream: FakeUpstream, capsys: pytest.CaptureFixture[str]
) -> None:
    _, admin = _create(capsys, "--admin")
    _, plain = _create(capsys)
    client = make_client(require_auth=True, key_cache_seconds=0)
    upstream.will(text_reply("ok", usage=usage_chunk(prompt=123, completion=45)))
    assert client.post("/v1/responses", json=BODY, headers={"authorization": f"Bearer {plain}"}).status_code == 200

    usage_url = f"/v1/organization/usage/completions?start_time={int(time.time()) - 60}"
    assert client.get(usage_url, headers={"authorization": f"Bearer {plain}"}).status_code == 403
    page = client.get(usage_url, headers={"authorization": f"Bearer {admin}"}).json()
    assert [r["input_tokens"] for bucket in page["data"] for r in bucket["results"]] == [123]

    assert keys.main(["usage"]) == 0
    table = capsys.readouterr().out.splitlines()
    (row,) = [line for line in table[1:] if "gpt-4o-mini" in line]
    assert row.split()[-4:] == ["1", "123", "0", "45"] and "acme" in row


@pytest.mark.parametrize("value", ["0", "x"])
def test_a_bad_limit_is_a_usage_error(cli: None, value: str) -> None:
    with pytest.raises(SystemExit) as exited:
        keys.main(["create", "--tenant", "acme", "--rpm", value])
    assert exited.value.code == 2
