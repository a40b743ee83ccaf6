"""Items too large for DynamoDB's 400 KB limit go to S3 and come back byte-identical."""

from __future__ import annotations

import boto3
from fastapi.testclient import TestClient

from tests.conftest import BUCKET, TABLE, AppFactory
from tests.fakes.upstream import FakeUpstream, text_reply


def test_a_large_turn_round_trips_through_s3(client: TestClient, upstream: FakeUpstream) -> None:
    # GIVEN an input and an output that together exceed a DynamoDB item
    big_input = "\u00e9" * 300_000  # two bytes each in UTF-8
    big_output = "ω" * 200_000
    upstream.will(text_reply(big_output))

    created = client.post("/v1/responses", json={"model": "m", "input": big_input})

    assert created.status_code == 200, created.text
    response_id = created.json()["id"]
    # THEN retrieval, input items and chaining see every byte
    assert client.get(f"/v1/responses/{response_id}").content == created.content
    [item] = client.get(f"/v1/responses/{response_id}/input_items").json()["data"]
    assert item["content"][0]["text"] == big_input
    client.post("/v1/responses", json={"model": "m", "input": "next", "previous_response_id": response_id})
    assert [m["content"] for m in upstream.last["messages"]] == [big_input, big_output, "next"]
    # and the item itself only points at the payload
    rows = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    [row] = [row for row in rows if row["sk"]["S"] == f"r#{response_id}"]
    assert "blob" in row and "response" not in row
    # WHEN it is deleted THEN the payload goes too
    assert client.delete(f"/v1/responses/{response_id}").status_code == 200
    assert boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_without_a_bucket_a_large_turn_is_a_clear_error_not_a_500(
    make_client: AppFactory, upstream: FakeUpstream
) -> None:
    client = make_client(payload_bucket=None)
    reply = client.post("/v1/responses", json={"model": "m", "input": "x" * 400_000})
    assert reply.status_code == 400
    assert "RESPONSES_PAYLOAD_BUCKET" in reply.json()["error"]["message"]
