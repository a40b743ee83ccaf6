"""``make run`` keeps its keys' records in ``.local/keys.json`` across restarts (moto itself forgets everything)."""

from __future__ import annotations

import stat
from pathlib import Path

import boto3

from gateway.dev.state import restore_keys, save_keys
from gateway.store.keys import DynamoKeyStore, key_hash
from gateway.store.schema import create_table
from tests.conftest import TABLE


def test_keys_saved_at_stop_name_their_tenant_after_the_next_start(aws: None, tmp_path: Path) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    store = DynamoKeyStore(TABLE, client)
    key, _ = store.create("acme")
    revoked, record = store.create("globex")
    store.revoke(record.key_id)
    saved = tmp_path / ".local" / "keys.json"

    assert save_keys(client, TABLE, saved) == 2
    assert key not in saved.read_text() and revoked not in saved.read_text()  # hashes only, never a key
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600

    # The next start: a new, empty table
    client.delete_table(TableName=TABLE)
    create_table(client, TABLE)
    assert store.tenant_of(key_hash(key)) is None

    assert restore_keys(client, TABLE, saved) == 2
    assert store.tenant_of(key_hash(key)) == "acme"
    assert store.tenant_of(key_hash(revoked)) is None  # still revoked


def test_nothing_saved_yet_restores_nothing(aws: None, tmp_path: Path) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    assert restore_keys(client, TABLE, tmp_path / "keys.json") == 0
