"""Auth off (``make run`` without ``RESPONSES_API_KEYS``): a gateway key, made with ``make keys``, still names its
tenant, so tenants can be tried locally; any other key, or none, is the open tenant ``default``."""

from __future__ import annotations

import boto3
from fastapi.testclient import TestClient

from gateway.store.keys import DynamoKeyStore
from tests.conftest import TABLE
from tests.fakes.upstream import FakeUpstream, text_reply

BODY = {"model": "m", "input": "hi"}


def _store() -> DynamoKeyStore:
    return DynamoKeyStore(TABLE, boto3.client("dynamodb", region_name="us-east-1"))


def test_a_gateway_key_names_its_tenant_while_auth_is_off(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("for acme"))
    key, _ = _store().create("acme")
    acme = {"authorization": f"Bearer {key}"}

    created = client.post("/v1/responses", json=BODY, headers=acme)
    assert created.status_code == 200
    response_id = created.json()["id"]

    assert client.get(f"/v1/responses/{response_id}", headers=acme).status_code == 200
    # The open tenant, with no key or with a key that is not the gateway's, does not see acme's response.
    assert client.get(f"/v1/responses/{response_id}").status_code == 404
    assert client.get(f"/v1/responses/{response_id}", headers={"authorization": "Bearer sk-local"}).status_code == 404


def test_an_unknown_or_revoked_gateway_key_is_refused_while_auth_is_off(client: TestClient) -> None:
    store = _store()
    key, record = store.create("acme")
    store.revoke(record.key_id)
    for presented in (key, "sk-gw-never-issued"):
        reply = client.get("/v1/responses/resp_x", headers={"authorization": f"Bearer {presented}"})
        assert reply.status_code == 401
        assert reply.json()["error"]["code"] == "invalid_api_key"


def test_other_keys_are_the_open_tenant_as_before(client: TestClient, upstream: FakeUpstream) -> None:
    upstream.will(text_reply("open"))
    created = client.post("/v1/responses", json=BODY, headers={"authorization": "Bearer sk-anything"})
    assert created.status_code == 200
    assert client.get(f"/v1/responses/{created.json()['id']}").status_code == 200
