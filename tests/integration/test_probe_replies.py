"""Fault-probe findings on replies (issue 11, 4(5)): a 500 still carries its request id, odd JSON bodies get a
clear 400, and a huge unknown field name is not echoed back in full."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.store.dynamodb import DynamoResponseStore


def test_an_unexpected_error_is_a_500_envelope_with_the_request_id_that_is_logged(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(*_: Any, **__: Any) -> None:
        raise RuntimeError("the table is on fire")

    monkeypatch.setattr(DynamoResponseStore, "get", boom)

    with caplog.at_level(logging.ERROR, logger="gateway"):
        reply = client.get("/v1/responses/resp_0123456789abcdef0123456789abcdef0123456789abcdef")

    assert reply.status_code == 500
    assert reply.json()["error"]["type"] == "server_error"
    assert "fire" not in reply.text
    request_id = reply.headers.get("x-request-id", "")
    assert request_id.startswith("req_")
    [record] = [r for r in caplog.records if r.exc_info is not None]
    assert request_id in record.getMessage()
    assert "the table is on fire" in caplog.text  # the traceback is in the log, not the reply


@pytest.mark.parametrize(("body", "kind"), [(b"null", "null"), (b"[]", "an array"), (b"42", "an integer")])
def test_a_body_that_is_not_a_json_object_is_a_clear_400(client: TestClient, body: bytes, kind: str) -> None:
    reply = client.post("/v1/responses", content=body, headers={"content-type": "application/json"})

    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] is None
    assert "None" not in error["message"]
    assert "must be a JSON object" in error["message"] and kind in error["message"]


def test_a_huge_unknown_field_name_is_shortened_in_the_error(client: TestClient) -> None:
    name = "x" * 1_000_000

    reply = client.post("/v1/responses", json={"model": "m", "input": "hi", name: 1})

    assert reply.status_code == 400
    error = reply.json()["error"]
    assert error["code"] == "unknown_parameter"
    assert len(reply.content) < 2_000
    assert error["param"].startswith("xxxx") and len(error["param"]) <= 80
    assert error["param"] in error["message"]


def test_an_ordinary_unknown_field_name_is_named_in_full(client: TestClient) -> None:
    name = "a_reasonably_long_but_plausible_parameter_name_v2"

    error = client.post("/v1/responses", json={"model": "m", "input": "hi", name: 1}).json()["error"]

    assert error["param"] == name and error["message"] == f"Unknown parameter: '{name}'."
