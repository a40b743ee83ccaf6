"""``StoredResponse`` <-> DynamoDB item mapping, kept in one place with the key scheme and the size rule.

Every key starts with the tenant. A response lives in its thread's partition, so one Query returns a whole
conversation:

    pk = "t#<tenant>#th#<thread>"     sk = "r#<response id>"

API keys are looked up by hash before the tenant is known: ``pk = "key#<sha256>"``, ``sk = "key"``.

A record whose payload (response, input, request) would not fit a 400 KB item keeps it in S3 instead, under
``blob``; everything else (keys, status, parent, expiry) stays in the item.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.store.base import StoredResponse

Item = dict[str, Any]
PAYLOAD = ("response", "input", "request")
INLINE_LIMIT = 350_000
"""Bytes of payload kept inline; DynamoDB's item limit is 400 KB including names and keys."""


def thread_pk(tenant: str, thread: str) -> str:
    return f"t#{tenant}#th#{thread}"


def response_sk(response_id: str) -> str:
    return f"r#{response_id}"


def to_item(record: StoredResponse) -> Item:
    item: Item = {
        "pk": {"S": thread_pk(record.tenant, record.thread)},
        "sk": {"S": response_sk(record.id)},
        "status": {"S": record.status},
        "response": {"S": record.response_json},
        "input": {"S": record.input_json},
        "expires_at": {"N": str(record.expires_at)},
        "background": {"BOOL": record.background},
        "stream": {"BOOL": record.stream},
    }
    if record.parent:
        item["parent"] = {"S": record.parent}
    if record.request_json is not None:
        item["request"] = {"S": record.request_json}
    return item


def payload_size(item: Item) -> int:
    return sum(len(item[name]["S"].encode()) for name in PAYLOAD if name in item)


def blob_key(record: StoredResponse) -> str:
    return f"responses/{record.tenant}/{record.thread}/{record.id}.json"


def split_payload(item: Item) -> tuple[Item, bytes]:
    """The item without its payload, and the payload as one JSON document for S3."""
    payload = {name: item[name]["S"] for name in PAYLOAD if name in item}
    return {key: value for key, value in item.items() if key not in PAYLOAD}, json.dumps(payload).encode()


def join_payload(item: Item, blob: bytes) -> Item:
    payload: dict[str, str] = json.loads(blob)
    return {**item, **{name: {"S": value} for name, value in payload.items()}}


def from_item(item: Item, tenant: str) -> StoredResponse:
    thread = item["pk"]["S"].rsplit("#", 1)[1]
    return StoredResponse(
        tenant=tenant,
        id=item["sk"]["S"][2:],
        thread=thread,
        parent=item["parent"]["S"] if "parent" in item else None,
        status=item["status"]["S"],
        response_json=item["response"]["S"],
        input_json=item["input"]["S"],
        expires_at=int(item["expires_at"]["N"]),
        background=item.get("background", {}).get("BOOL", False),
        stream=item.get("stream", {}).get("BOOL", False),
        request_json=item["request"]["S"] if "request" in item else None,
    )
