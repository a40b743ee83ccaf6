"""Sealing keys from settings or Secrets Manager: read once, and a deployment without a usable key fails loudly."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from gateway.dev.server import use_local_sealing_key
from gateway.domain.sealing import REASONING, InvalidEncryptedContentError, Sealer
from gateway.sealing_keys import SealerLoader, SealingNotConfiguredError, build_sealer, parse_keys
from gateway.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CURRENT = "dGVzdC1zZWFsaW5nLWtleS1jdXJyZW50LTAxMjM0NTY3"
PREVIOUS = "dGVzdC1zZWFsaW5nLWtleS1wcmV2aW91cy0wMTIzNDU2"
TENANT = "acme"


@pytest.fixture
def secrets() -> Iterator[SecretsManagerClient]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


def _secret(client: SecretsManagerClient, value: str) -> str:
    return client.create_secret(Name="sealing", SecretString=value)["ARN"]


def test_keys_from_the_setting_first_one_seals_all_open() -> None:
    sealer = build_sealer(Settings(sealing_keys=f" {CURRENT} , {PREVIOUS} ,"))

    old = Sealer([PREVIOUS.encode()]).seal(TENANT, REASONING, b"state")
    assert sealer.open(TENANT, REASONING, old) == b"state"
    assert sealer.key_ids == (Sealer([CURRENT.encode()]).key_ids[0], Sealer([PREVIOUS.encode()]).key_ids[0])


def test_keys_from_the_secret_win_over_the_setting(secrets: SecretsManagerClient) -> None:
    arn = _secret(secrets, json.dumps({"keys": f"{CURRENT},{PREVIOUS}"}))

    sealer = build_sealer(Settings(sealing_secret_id=arn, sealing_keys="x" * 40))

    assert sealer.key_ids[0] == Sealer([CURRENT.encode()]).key_ids[0]
    with pytest.raises(InvalidEncryptedContentError):
        sealer.open(TENANT, REASONING, Sealer([b"x" * 40]).seal(TENANT, REASONING, b"state"))


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({}, "no keys in RESPONSES_SEALING_KEYS"),
        ({"sealing_keys": " , "}, "no keys in RESPONSES_SEALING_KEYS"),
        ({"sealing_keys": "too-short"}, "at least 32 bytes"),
        ({"sealing_keys": f"{CURRENT},{CURRENT}"}, "distinct"),
    ],
)
def test_no_usable_key_is_a_logged_server_error(
    settings: dict[str, Any], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="gateway"), pytest.raises(SealingNotConfiguredError) as caught:
        build_sealer(Settings(**settings))

    error = caught.value
    assert (error.status_code, error.error_type, error.code) == (500, "server_error", "server_error")
    assert "encrypted_content" in error.message
    assert reason in error.reason
    assert reason in caplog.text  # the operator's log says what to fix; the client's message does not
    assert "RESPONSES_" not in error.message


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("{}", "must hold a JSON object"),
        ('{"keys": ["a"]}', "must hold a JSON object"),
        ("not json", "must hold a JSON object"),
        ('{"keys": ""}', "no keys in secret"),
    ],
)
def test_a_secret_without_usable_keys_is_a_server_error(secrets: SecretsManagerClient, value: str, reason: str) -> None:
    arn = _secret(secrets, value)

    with pytest.raises(SealingNotConfiguredError) as caught:
        build_sealer(Settings(sealing_secret_id=arn))

    assert reason in caught.value.reason
    assert value == "{}" or value not in caught.value.reason  # never the secret's value


def test_an_unreadable_secret_is_a_server_error(secrets: SecretsManagerClient) -> None:
    with pytest.raises(SealingNotConfiguredError) as caught:
        build_sealer(Settings(sealing_secret_id="arn:aws:secretsmanager:us-east-1:123456789012:secret:gone"))

    assert "ResourceNotFoundException" in caught.value.reason


def test_the_loader_reads_the_secret_once_for_concurrent_first_uses() -> None:
    reads: list[str] = []

    def read(secret_id: str) -> str:
        reads.append(secret_id)
        return json.dumps({"keys": CURRENT})

    loader = SealerLoader(Settings(sealing_secret_id="sealing"), read_secret=read)

    async def main() -> list[Sealer]:
        return await asyncio.gather(*(loader.get() for _ in range(5)))

    sealers = asyncio.run(main())
    assert reads == ["sealing"]
    assert all(sealer is sealers[0] for sealer in sealers)
    assert asyncio.run(loader.get()) is sealers[0]  # another event loop, as the worker has per invocation


def test_the_loader_tries_again_after_a_failure() -> None:
    values = iter(["{}", json.dumps({"keys": CURRENT})])
    loader = SealerLoader(Settings(sealing_secret_id="sealing"), read_secret=lambda _: next(values))

    with pytest.raises(SealingNotConfiguredError):
        loader.get_blocking()
    assert loader.get_blocking().key_ids == Sealer([CURRENT.encode()]).key_ids


def test_parse_keys_keeps_order_and_drops_blanks() -> None:
    assert parse_keys(f"{CURRENT},,{PREVIOUS}\n") == [CURRENT.encode(), PREVIOUS.encode()]
    assert parse_keys("") == []


def test_make_run_keeps_one_private_key_across_restarts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN no configured keys (set empty so monkeypatch restores what the function writes)
    monkeypatch.setenv("RESPONSES_SEALING_KEYS", "")
    path = tmp_path / ".local" / "sealing.key"

    # WHEN `make run` starts, seals something, and starts again
    assert use_local_sealing_key(path) == str(path)
    token = build_sealer(Settings()).seal(TENANT, REASONING, b"state")
    monkeypatch.setenv("RESPONSES_SEALING_KEYS", "")
    use_local_sealing_key(path)

    # THEN the restarted server opens it, and only the owner may read the key file
    assert build_sealer(Settings()).open(TENANT, REASONING, token) == b"state"
    assert path.stat().st_mode & 0o777 == 0o600


def test_make_run_uses_configured_keys_instead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "sealing.key"
    monkeypatch.setenv("RESPONSES_SEALING_KEYS", CURRENT)

    assert use_local_sealing_key(path) == "RESPONSES_SEALING_KEYS"
    monkeypatch.setenv("RESPONSES_SEALING_SECRET_ID", "sealing")
    assert use_local_sealing_key(path) == "secret sealing"
    assert not path.exists()
    assert os.environ["RESPONSES_SEALING_KEYS"] == CURRENT
