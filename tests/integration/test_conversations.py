"""The Conversations API through the app: objects, items, paging, tenants, and ``conversation`` on create."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from gateway.store.conversations import DynamoConversationStore
from tests.background import Background, background
from tests.conftest import TABLE, AppFactory
from tests.fakes.upstream import FakeUpstream, error_reply, text_reply
from tests.sse import stream

__all__ = ["background"]
UNKNOWN = "conv_" + "ab" * 25


def user(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": text}


def create(client: TestClient, **body: Any) -> dict[str, Any]:
    reply = client.post("/v1/conversations", json=body)
    assert reply.status_code == 200, reply.text
    return reply.json()


def items_of(client: TestClient, conversation: str, **params: Any) -> dict[str, Any]:
    reply = client.get(f"/v1/conversations/{conversation}/items", params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()


def texts(page: dict[str, Any]) -> list[str]:
    return [part["text"] for item in page["data"] for part in item.get("content", [])]


def test_create_retrieve_update_delete(client: TestClient) -> None:
    created = create(client, metadata={"topic": "demo"}, items=[user("Hello!")])
    assert created["id"].startswith("conv_") and created["object"] == "conversation"
    assert created["metadata"] == {"topic": "demo"} and isinstance(created["created_at"], int)

    assert client.get(f"/v1/conversations/{created['id']}").json() == created

    updated = client.post(f"/v1/conversations/{created['id']}", json={"metadata": {"topic": "x"}})
    assert updated.status_code == 200 and updated.json()["metadata"] == {"topic": "x"}
    assert client.get(f"/v1/conversations/{created['id']}").json()["metadata"] == {"topic": "x"}

    deleted = client.delete(f"/v1/conversations/{created['id']}")
    assert deleted.json() == {"id": created["id"], "object": "conversation.deleted", "deleted": True}
    assert client.get(f"/v1/conversations/{created['id']}").status_code == 404
    assert client.get(f"/v1/conversations/{created['id']}/items").status_code == 404
    assert client.delete(f"/v1/conversations/{created['id']}").status_code == 404


def test_empty_conversation_has_empty_metadata_and_no_items(client: TestClient) -> None:
    created = create(client)
    assert created["metadata"] == {}
    page = items_of(client, created["id"])
    assert page == {"object": "list", "data": [], "first_id": "", "last_id": "", "has_more": False}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ""),
        ("POST", ""),
        ("DELETE", ""),
        ("GET", "/items"),
        ("POST", "/items"),
        ("GET", "/items/msg_1"),
        ("DELETE", "/items/msg_1"),
    ],
)
@pytest.mark.parametrize("conversation", [UNKNOWN, "conv_nope"])
def test_unknown_conversation_is_404(client: TestClient, method: str, path: str, conversation: str) -> None:
    body = None if method != "POST" else {"items": [user("x")]} if path else {"metadata": {}}
    reply = client.request(method, f"/v1/conversations/{conversation}{path}", json=body)
    assert reply.status_code == 404, reply.text
    assert reply.json()["error"]["message"] == f"Conversation with id '{conversation}' not found."


def test_items_are_validated(client: TestClient) -> None:
    too_many = client.post("/v1/conversations", json={"items": [user(str(n)) for n in range(21)]})
    assert too_many.status_code == 400 and too_many.json()["error"]["param"] == "items"
    conversation = create(client)["id"]
    missing = client.post(f"/v1/conversations/{conversation}/items", json={})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "items"
    bad_metadata = client.post(f"/v1/conversations/{conversation}", json={"metadata": {"k": 1}})
    assert bad_metadata.status_code == 400


def test_items_create_list_retrieve_delete(client: TestClient) -> None:
    conversation = create(client, items=[user("one")])["id"]
    added = client.post(f"/v1/conversations/{conversation}/items", json={"items": [user("two"), user("three")]})
    assert added.status_code == 200, added.text
    assert texts(added.json()) == ["two", "three"]
    assert added.json()["first_id"] == added.json()["data"][0]["id"]

    newest_first = items_of(client, conversation)
    assert texts(newest_first) == ["three", "two", "one"]
    assert texts(items_of(client, conversation, order="asc")) == ["one", "two", "three"]
    item = newest_first["data"][1]
    assert item["status"] == "completed" and item["content"] == [{"type": "input_text", "text": "two"}]

    fetched = client.get(f"/v1/conversations/{conversation}/items/{item['id']}")
    assert fetched.json() == item
    assert client.get(f"/v1/conversations/{conversation}/items/msg_missing").status_code == 404

    after_delete = client.delete(f"/v1/conversations/{conversation}/items/{item['id']}")
    assert after_delete.status_code == 200
    assert after_delete.json()["id"] == conversation and after_delete.json()["object"] == "conversation"
    assert texts(items_of(client, conversation, order="asc")) == ["one", "three"]
    assert client.get(f"/v1/conversations/{conversation}/items/{item['id']}").status_code == 404
    assert client.delete(f"/v1/conversations/{conversation}/items/{item['id']}").status_code == 404


def test_paging(client: TestClient) -> None:
    conversation = create(client, items=[user(str(n)) for n in range(20)])["id"]
    client.post(f"/v1/conversations/{conversation}/items", json={"items": [user(str(n)) for n in range(20, 25)]})

    first = items_of(client, conversation, limit=10, order="asc")
    assert texts(first) == [str(n) for n in range(10)] and first["has_more"] is True
    second = items_of(client, conversation, limit=10, order="asc", after=first["last_id"])
    assert texts(second) == [str(n) for n in range(10, 20)]
    last = items_of(client, conversation, limit=10, order="asc", after=second["last_id"])
    assert texts(last) == [str(n) for n in range(20, 25)] and last["has_more"] is False
    assert texts(items_of(client, conversation, limit=3)) == ["24", "23", "22"]
    assert len(items_of(client, conversation)["data"]) == 20  # the default limit
    for bad in ({"limit": 0}, {"limit": 101}, {"order": "up"}, {"after": "msg_unknown"}):
        assert client.get(f"/v1/conversations/{conversation}/items", params=bad).status_code == 400


def test_tenants_are_isolated(make_client: AppFactory) -> None:
    client = make_client(api_keys="acme:key-acme,globex:key-globex")
    acme, globex = {"authorization": "Bearer key-acme"}, {"authorization": "Bearer key-globex"}
    conversation = client.post("/v1/conversations", json={"items": [user("secret")]}, headers=acme).json()
    item = client.get(f"/v1/conversations/{conversation['id']}/items", headers=acme).json()["data"][0]
    base = f"/v1/conversations/{conversation['id']}"

    assert client.get(base, headers=globex).status_code == 404
    assert client.get(f"{base}/items", headers=globex).status_code == 404
    assert client.get(f"{base}/items/{item['id']}", headers=globex).status_code == 404
    assert client.post(base, json={"metadata": {"a": "b"}}, headers=globex).status_code == 404
    assert client.post(f"{base}/items", json={"items": [user("x")]}, headers=globex).status_code == 404
    assert client.delete(f"{base}/items/{item['id']}", headers=globex).status_code == 404
    assert client.delete(base, headers=globex).status_code == 404
    used = client.post("/v1/responses", json={"model": "m", "input": "x", "conversation": base[18:]}, headers=globex)
    assert used.status_code == 404

    # the owner still sees it whole
    assert client.get(f"{base}/items", headers=acme).json()["data"] == [item]
    assert client.get(base, headers=acme).json()["metadata"] == {}


def test_response_in_a_conversation_remembers(client: TestClient, upstream: FakeUpstream) -> None:
    # GIVEN a conversation holding one earlier exchange
    conversation = create(client, items=[user("I am Ada."), {"role": "assistant", "content": "Hi Ada."}])["id"]

    # WHEN two turns are created in it (one as {"id"}, one streamed)
    upstream.will(text_reply("You are Ada."))
    first = client.post(
        "/v1/responses", json={"model": "m", "input": "Who am I?", "conversation": {"id": conversation}}
    )
    upstream.will(text_reply("Still Ada."))
    streamed = stream(client, {"model": "m", "input": "And now?", "conversation": conversation})

    # THEN each saw the conversation so far, carries it, and was appended to it
    assert first.status_code == 200, first.text
    assert first.json()["conversation"] == {"id": conversation}
    assert upstream.requests[1]["messages"] == [
        {"role": "user", "content": "I am Ada."},
        {"role": "assistant", "content": "Hi Ada."},
        {"role": "user", "content": "Who am I?"},
        {"role": "assistant", "content": "You are Ada."},
        {"role": "user", "content": "And now?"},
    ]
    completed = streamed[-1]
    assert completed["type"] == "response.completed"
    assert completed["response"]["conversation"] == {"id": conversation}
    assert texts(items_of(client, conversation, order="asc")) == [
        "I am Ada.",
        "Hi Ada.",
        "Who am I?",
        "You are Ada.",
        "And now?",
        "Still Ada.",
    ]
    stored = client.get(f"/v1/responses/{first.json()['id']}").json()
    assert stored["conversation"] == {"id": conversation}


def test_a_failed_response_appends_nothing(client: TestClient, upstream: FakeUpstream) -> None:
    conversation = create(client, items=[user("earlier")])["id"]
    upstream.will(error_reply(500, "boom"), error_reply(500, "boom"), error_reply(500, "boom"))
    reply = client.post("/v1/responses", json={"model": "m", "input": "lost", "conversation": conversation})
    assert reply.status_code >= 400
    assert texts(items_of(client, conversation)) == ["earlier"]


def test_an_incomplete_response_is_appended(client: TestClient, upstream: FakeUpstream) -> None:
    conversation = create(client)["id"]
    upstream.will(text_reply("Half an ans", finish="length"))
    reply = client.post(
        "/v1/responses", json={"model": "m", "input": "Long?", "conversation": conversation, "max_output_tokens": 16}
    )
    assert reply.json()["status"] == "incomplete"
    assert texts(items_of(client, conversation, order="asc")) == ["Long?", "Half an ans"]


def test_conversation_with_previous_response_is_400(client: TestClient) -> None:
    conversation = create(client)["id"]
    body = {"model": "m", "input": "x", "conversation": conversation, "previous_response_id": "resp_x"}
    reply = client.post("/v1/responses", json=body)
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "conversation"


def test_unknown_conversation_on_create_is_404(client: TestClient, upstream: FakeUpstream) -> None:
    reply = client.post("/v1/responses", json={"model": "m", "input": "x", "conversation": UNKNOWN})
    assert reply.status_code == 404
    assert reply.json()["error"]["param"] == "conversation"
    assert upstream.requests == []


def test_deleted_conversation_is_not_resurrected_by_a_late_turn(
    make_client: AppFactory, upstream: FakeUpstream
) -> None:
    client = make_client(api_keys="acme:key-acme")
    client.headers["authorization"] = "Bearer key-acme"
    conversation = create(client)["id"]
    store = DynamoConversationStore(TABLE, boto3.client("dynamodb", region_name="us-east-1"))

    def delete_then_answer(_: Any) -> Any:
        # the conversation goes while the model is answering
        assert store.delete("acme", conversation)
        return text_reply("too late")

    upstream.will(delete_then_answer)
    reply = client.post("/v1/responses", json={"model": "m", "input": "x", "conversation": conversation})
    assert reply.status_code == 200, reply.text
    assert client.get(f"/v1/conversations/{conversation}").status_code == 404
    assert client.get(f"/v1/conversations/{conversation}/items").status_code == 404


def test_a_background_response_in_a_conversation(background: Background, upstream: FakeUpstream) -> None:
    client = background.client
    conversation = create(client, items=[user("one"), {"role": "assistant", "content": "echo: one"}])["id"]

    created = background.create(input="two", conversation=conversation)
    assert created["conversation"] == {"id": conversation}
    background.drain()

    done = client.get(f"/v1/responses/{created['id']}").json()
    assert done["status"] == "completed" and done["conversation"] == {"id": conversation}
    assert [message["content"] for message in upstream.last["messages"]] == ["one", "echo: one", "two"]
    assert texts(items_of(client, conversation, order="asc")) == ["one", "echo: one", "two", "echo: two"]


def test_input_tokens_count_the_conversation(client: TestClient) -> None:
    conversation = create(client, items=[user("a long earlier message " * 20)])["id"]
    body = {"model": "m", "input": "hi"}
    alone = client.post("/v1/responses/input_tokens", json=body).json()["input_tokens"]
    within = client.post("/v1/responses/input_tokens", json={**body, "conversation": conversation})
    assert within.status_code == 200, within.text
    assert within.json()["input_tokens"] > alone
    assert items_of(client, conversation)["data"][0]["content"][0]["text"].startswith("a long")  # nothing appended


def test_an_unstored_response_is_still_appended(client: TestClient, upstream: FakeUpstream) -> None:
    conversation = create(client)["id"]
    upstream.will(text_reply("ok"))
    reply = client.post(
        "/v1/responses", json={"model": "m", "input": "q", "conversation": conversation, "store": False}
    )
    assert reply.status_code == 200
    assert texts(items_of(client, conversation, order="asc")) == ["q", "ok"]


def test_an_item_too_large_without_a_bucket_creates_nothing(make_client: AppFactory) -> None:
    client = make_client(payload_bucket=None)
    reply = client.post("/v1/conversations", json={"items": [user("x" * 400_000)]})
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "payload_too_large"
    scanned = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=TABLE)["Items"]
    assert not [row for row in scanned if "#cv#" in row["pk"]["S"]]
