"""Conformance §7 items 57 and 60: bearer keys map to tenants; tenants never see each other's data."""

from __future__ import annotations

import logging

import boto3
from fastapi.testclient import TestClient

from gateway.store.keys import DynamoKeyStore
from tests.conftest import TABLE, AppFactory


def auth(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_missing_and_bad_keys(make_client: AppFactory) -> None:
    client = make_client(api_keys="acme:key-acme")
    missing = client.post("/v1/responses", json={"model": "m", "input": "hi"})
    assert missing.status_code == 401
    assert set(missing.json()["error"]) == {"message", "type", "param", "code"}
    bad = client.post("/v1/responses", json={"model": "m", "input": "hi"}, headers=auth("key-wrong-123456"))
    assert bad.status_code == 401 and bad.json()["error"]["code"] == "invalid_api_key"
    assert "key-wrong-123456" not in bad.json()["error"]["message"]
    assert client.get("/health").status_code == 200


def test_tenants_are_isolated(make_client: AppFactory) -> None:
    client = make_client(api_keys="acme:key-acme,globex:key-globex")
    body = client.post("/v1/responses", json={"model": "m", "input": "hi"}, headers=auth("key-acme")).json()

    assert client.get(f"/v1/responses/{body['id']}", headers=auth("key-acme")).status_code == 200
    assert client.get(f"/v1/responses/{body['id']}", headers=auth("key-globex")).status_code == 404
    assert client.delete(f"/v1/responses/{body['id']}", headers=auth("key-globex")).status_code == 404
    chained = client.post(
        "/v1/responses",
        json={"model": "m", "input": "x", "previous_response_id": body["id"]},
        headers=auth("key-globex"),
    )
    assert chained.status_code == 400 and chained.json()["error"]["code"] == "previous_response_not_found"


def test_stored_keys_are_hashes_and_can_be_revoked(make_client: AppFactory) -> None:
    # GIVEN a key created through the CLI's store
    keys = DynamoKeyStore(TABLE, boto3.client("dynamodb", region_name="us-east-1"))
    key, record = keys.create("initech")
    client = make_client(require_auth=True, key_cache_seconds=0)

    # THEN it authenticates, and only its hash is in the table
    reply = client.post("/v1/responses", json={"model": "m", "input": "hi"}, headers=auth(key))
    assert reply.status_code == 200
    raw = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    assert key not in repr(raw)
    assert [r.key_id for r in keys.list()] == [record.key_id]

    # WHEN it is revoked THEN it no longer works
    assert keys.revoke(record.key_id) is True
    assert client.get("/health").status_code == 200
    assert client.post("/v1/responses", json={"model": "m", "input": "hi"}, headers=auth(key)).status_code == 401


def test_open_mode_serves_one_tenant(client: TestClient) -> None:
    assert client.post("/v1/responses", json={"model": "m", "input": "hi"}).status_code == 200


def test_every_reply_has_a_request_id(client: TestClient) -> None:
    for reply in (client.get("/health"), client.get("/v1/responses/nope"), client.post("/v1/responses", json={})):
        assert reply.headers["x-request-id"].startswith("req_")


def test_log_level_setting_applies_to_the_gateway_loggers(make_client: AppFactory) -> None:
    try:
        make_client(log_level="DEBUG")
        assert logging.getLogger("gateway.worker").getEffectiveLevel() == logging.DEBUG
        make_client(log_level="WARNING")
        assert logging.getLogger("gateway").level == logging.WARNING
    finally:
        logging.getLogger("gateway").setLevel(logging.NOTSET)
