"""A background response too large for a DynamoDB item leaves nothing behind in S3 once deleted (issue 11,
fault probe 4(2)): each rewrite of its record stores its payload under a key of its own, and DELETE removes them
all."""

from __future__ import annotations

import boto3

from tests.background import Background, background
from tests.conftest import BUCKET
from tests.fakes.upstream import FakeUpstream, text_reply

__all__ = ["background"]


def _objects() -> list[str]:
    listing = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket=BUCKET)
    return [entry["Key"] for entry in listing.get("Contents", [])]


def test_deleting_a_large_background_response_removes_every_payload_object(
    background: Background, upstream: FakeUpstream
) -> None:
    # Given a background response whose input alone is over the inline limit, run to completion
    upstream.will(text_reply("done"))
    created = background.create(input="\u00e9" * 200_000)  # 400 KB of UTF-8
    background.drain()
    assert background.client.get(f"/v1/responses/{created['id']}").json()["status"] == "completed"
    written = [key for key in _objects() if created["id"] in key]
    assert len(written) >= 2  # the queued record's payload, then the completed one's

    # When it is deleted
    assert background.client.delete(f"/v1/responses/{created['id']}").status_code == 200

    # Then none of its payload objects is left in the bucket
    assert [key for key in _objects() if created["id"] in key] == []


def test_deleting_one_response_leaves_the_payloads_of_another_alone(
    background: Background, upstream: FakeUpstream
) -> None:
    upstream.will(text_reply("one"), text_reply("two"))
    first = background.create(input="a" * 400_000)
    second = background.create(input="b" * 400_000)
    background.drain()

    assert background.client.delete(f"/v1/responses/{first['id']}").status_code == 200

    assert [key for key in _objects() if first["id"] in key] == []
    assert (
        background.client.get(f"/v1/responses/{second['id']}/input_items").json()["data"][0]["content"][0]["text"]
        == "b" * 400_000
    )
