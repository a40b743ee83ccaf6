"""``StoredResponse`` <-> DynamoDB item mapping, kept in one place with the key scheme and the size rule.

Every key starts with the tenant. A response lives in its thread's partition, so one Query returns a whole
conversation:

    pk = "t#<tenant>#th#<thread>"     sk = "r#<response id>"

The stream events of a background response have their own partition, one sort key per attempt and sequence
number (see ``store/events.py``):

    pk = "t#<tenant>#ev#<response id>"   sk = "<attempt:04d>#<sequence:08d>"

API keys are looked up by hash before the tenant is known: ``pk = "key#<sha256>"``, ``sk = "key"``.

A record whose payload (response, input, request) would not fit a 400 KB item keeps it in S3 instead, under
``blob``; everything else (keys, status, parent, expiry) stays in the item.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from pydantic import TypeAdapter

from gateway.domain.limits import Reservation
from gateway.domain.ports import StoredResponse
from gateway.schemas.requests import ResponseCreateParams
from gateway.schemas.responses import Response
from gateway.schemas.tool_items import CompactionTrigger, ContextItem, StoredItem

Item = dict[str, Any]
_ITEMS: TypeAdapter[list[ContextItem]] = TypeAdapter(list[StoredItem])
PAYLOAD = ("response", "input", "request")
INLINE_LIMIT = 350_000
"""Bytes of payload kept inline; DynamoDB's item limit is 400 KB including names and keys."""


def thread_pk(tenant: str, thread: str) -> str:
    return f"t#{tenant}#th#{thread}"


def response_sk(response_id: str) -> str:
    return f"r#{response_id}"


def events_pk(tenant: str, response_id: str) -> str:
    return f"t#{tenant}#ev#{response_id}"


def response_key(tenant: str, thread: str, response_id: str) -> Item:
    return {"pk": {"S": thread_pk(tenant, thread)}, "sk": {"S": response_sk(response_id)}}


def to_item(record: StoredResponse) -> Item:
    item: Item = {
        "pk": {"S": thread_pk(record.tenant, record.thread)},
        "sk": {"S": response_sk(record.id)},
        "status": {"S": record.status},
        "response": {"S": response_json(record.response)},
        "input": {"S": items_json(record.input_items)},
        "expires_at": {"N": str(record.expires_at)},
        "background": {"BOOL": record.background},
        "stream": {"BOOL": record.stream},
    }
    if record.background:
        item["attempt"] = {"N": str(record.attempt)}
        item["heartbeat_at"] = {"N": repr(record.heartbeat_at)}
        item["failures"] = {"N": str(record.failures)}
    if record.parent:
        item["parent"] = {"S": record.parent}
    if record.request is not None:
        item["request"] = {"S": _request_json(record.request)}
    if record.reservation is not None:
        kept = dataclasses.asdict(record.reservation)
        kept.pop("headers")
        item["reservation"] = {"S": json.dumps(kept)}
    if record.client_metadata:
        item["client_metadata"] = {"M": {key: {"S": value} for key, value in record.client_metadata.items()}}
    return item


def _request_json(request: ResponseCreateParams) -> str:
    """The request without its input, which is stored once, as the response's input items; all but a closing
    ``compaction_trigger``, which asks for compaction and is no context item."""
    trigger = isinstance(request.input, list) and request.input and isinstance(request.input[-1], CompactionTrigger)
    kept = request.model_copy(update={"input": [CompactionTrigger(type="compaction_trigger")]}) if trigger else request
    return kept.model_dump_json(by_alias=True, exclude_unset=True, exclude=None if trigger else {"input"})


def payload_size(item: Item) -> int:
    return sum(len(item[name]["S"].encode()) for name in PAYLOAD if name in item)


def blob_key(record: StoredResponse, version: str = "") -> str:
    """Where the payload goes; a rewrite of a background record uses its own ``version`` (e.g.
    ``.completed.2``) so a write that loses its condition never overwrites the blob the winning record points at."""
    return f"responses/{record.tenant}/{record.thread}/{record.id}{version}.json"


def blob_prefix(tenant: str, thread: str, response_id: str) -> str:
    """What every payload key of one response starts with, whatever its version (ids contain no dot)."""
    return f"responses/{tenant}/{thread}/{response_id}."


def split_payload(item: Item) -> tuple[Item, bytes]:
    """The item without its payload, and the payload as one JSON document for S3."""
    payload = {name: item[name]["S"] for name in PAYLOAD if name in item}
    return {key: value for key, value in item.items() if key not in PAYLOAD}, json.dumps(payload).encode()


def join_payload(item: Item, blob: bytes) -> Item:
    """The item with its payload back. An inline attribute wins over the blob's copy: a running background
    response writes its partial output inline while its (large) input stays in S3."""
    payload: dict[str, str] = json.loads(blob)
    return {**{name: {"S": value} for name, value in payload.items()}, **item}


def from_item(item: Item, tenant: str) -> StoredResponse:
    thread = item["pk"]["S"].rsplit("#", 1)[1]
    return StoredResponse(
        tenant=tenant,
        id=item["sk"]["S"][2:],
        thread=thread,
        parent=item["parent"]["S"] if "parent" in item else None,
        status=item["status"]["S"],
        response=Response.model_validate_json(item["response"]["S"]),
        input_items=_ITEMS.validate_json(item["input"]["S"]),
        expires_at=int(item["expires_at"]["N"]),
        background=item.get("background", {}).get("BOOL", False),
        stream=item.get("stream", {}).get("BOOL", False),
        request=ResponseCreateParams.model_validate_json(item["request"]["S"]) if "request" in item else None,
        attempt=int(item["attempt"]["N"]) if "attempt" in item else 0,
        heartbeat_at=float(item["heartbeat_at"]["N"]) if "heartbeat_at" in item else 0.0,
        failures=int(item["failures"]["N"]) if "failures" in item else 0,
        client_metadata={key: value["S"] for key, value in item["client_metadata"]["M"].items()}
        if "client_metadata" in item
        else None,
        reservation=Reservation(**json.loads(item["reservation"]["S"])) if "reservation" in item else None,
    )


def response_json(response: Response) -> str:
    """A Response as stored: the whole object, private reasoning state included."""
    return response.model_dump_json()


def items_json(items: list[ContextItem]) -> str:
    return _ITEMS.dump_json(items, exclude_none=False).decode()
