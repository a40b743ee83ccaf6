"""``StoredResponse`` <-> DynamoDB item mapping, kept in one place with the key scheme.

Every key starts with the tenant. A response lives in its thread's partition, so one Query returns a whole
conversation:

    pk = "t#<tenant>#th#<thread>"     sk = "r#<response id>"

API keys are looked up by hash before the tenant is known: ``pk = "key#<sha256>"``, ``sk = "key"``.
"""

from __future__ import annotations

from typing import Any

from gateway.store.base import StoredResponse

Item = dict[str, Any]


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
