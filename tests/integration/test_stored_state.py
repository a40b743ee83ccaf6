"""Conformance §7 items 23-34: retrieval, deletion, chaining and input items."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fakes.upstream import FakeUpstream, text_reply


def create(client: TestClient, **body: Any) -> dict[str, Any]:
    reply = client.post("/v1/responses", json={"model": "m", **body})
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_retrieve_returns_the_created_json(client: TestClient) -> None:
    created = client.post("/v1/responses", json={"model": "m", "input": "hi"})
    fetched = client.get(f"/v1/responses/{created.json()['id']}")
    assert fetched.status_code == 200
    assert fetched.content == created.content


def test_store_false_is_never_persisted(client: TestClient) -> None:
    body = create(client, input="hi", store=False)
    reply = client.get(f"/v1/responses/{body['id']}")
    assert reply.status_code == 404
    assert reply.json()["error"]["type"] == "invalid_request_error"
    assert client.get(f"/v1/responses/{body['id']}/input_items").status_code == 404


def test_delete(client: TestClient) -> None:
    body = create(client, input="hi")
    reply = client.delete(f"/v1/responses/{body['id']}")
    assert reply.status_code == 200
    assert reply.json() == {"id": body["id"], "object": "response", "deleted": True}
    assert client.get(f"/v1/responses/{body['id']}").status_code == 404
    assert client.delete(f"/v1/responses/{body['id']}").status_code == 404


@pytest.mark.parametrize("path", ["", "/input_items"])
def test_unknown_id(client: TestClient, path: str) -> None:
    unknown = "resp_" + "ab" * 25
    reply = client.get(f"/v1/responses/{unknown}{path}")
    assert reply.status_code == 404
    assert unknown in reply.json()["error"]["message"]
    assert client.get(f"/v1/responses/not-an-id{path}").status_code == 404


def test_previous_response_not_found(client: TestClient) -> None:
    unknown = "resp_" + "cd" * 25
    reply = client.post("/v1/responses", json={"model": "m", "input": "x", "previous_response_id": unknown})
    assert reply.status_code == 400
    error = reply.json()["error"]
    assert (error["code"], error["param"]) == ("previous_response_not_found", "previous_response_id")
    assert error["message"] == f"Previous response with id '{unknown}' not found."


def test_previous_response_with_store_false(client: TestClient) -> None:
    unstored = create(client, input="hi", store=False)
    reply = client.post("/v1/responses", json={"model": "m", "input": "x", "previous_response_id": unstored["id"]})
    assert reply.json()["error"]["code"] == "previous_response_not_found"


def test_chain_carries_inputs_and_outputs_but_not_instructions(client: TestClient, upstream: FakeUpstream) -> None:
    # GIVEN a first turn with instructions
    upstream.will(text_reply("Nice to meet you, Ada."))
    first = create(client, input="I am Ada.", instructions="Talk like a pirate.")

    # WHEN a second turn continues it without instructions
    upstream.will(text_reply("You are Ada."))
    second = create(client, input="Who am I?", previous_response_id=first["id"])

    # THEN the model saw the whole conversation, and only this turn's (absent) instructions
    assert upstream.last["messages"] == [
        {"role": "user", "content": "I am Ada."},
        {"role": "assistant", "content": "Nice to meet you, Ada."},
        {"role": "user", "content": "Who am I?"},
    ]
    assert second["previous_response_id"] == first["id"]
    assert second["instructions"] is None


def test_deep_chain_and_branching(client: TestClient, upstream: FakeUpstream) -> None:
    root = create(client, input="turn 0")
    tip = root
    for turn in range(1, 4):
        tip = create(client, input=f"turn {turn}", previous_response_id=tip["id"])
    # a branch from the root does not see the other branch's turns
    create(client, input="branch", previous_response_id=root["id"])
    users = [m["content"] for m in upstream.last["messages"] if m["role"] == "user"]
    assert users == ["turn 0", "branch"]

    create(client, input="turn 4", previous_response_id=tip["id"])
    users = [m["content"] for m in upstream.last["messages"] if m["role"] == "user"]
    assert users == ["turn 0", "turn 1", "turn 2", "turn 3", "turn 4"]


def test_input_items_default_page(client: TestClient) -> None:
    messages = [{"role": "user", "content": f"m{i}"} for i in range(25)]
    body = create(client, input=messages)

    page = client.get(f"/v1/responses/{body['id']}/input_items").json()

    assert page["object"] == "list" and len(page["data"]) == 20 and page["has_more"] is True
    texts = [item["content"][0]["text"] for item in page["data"]]
    assert texts == [f"m{i}" for i in range(24, 4, -1)]  # newest first
    assert page["first_id"] == page["data"][0]["id"] and page["last_id"] == page["data"][-1]["id"]


def test_input_items_paging_walks_everything_once(client: TestClient) -> None:
    messages = [{"role": "user", "content": f"m{i}"} for i in range(5)]
    body = create(client, input=messages)
    seen: list[str] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 1, "order": "asc"}
        if after:
            params["after"] = after
        page = client.get(f"/v1/responses/{body['id']}/input_items", params=params).json()
        seen += [item["content"][0]["text"] for item in page["data"]]
        if not page["has_more"]:
            break
        after = page["last_id"]
    assert seen == [f"m{i}" for i in range(5)]


def test_input_items_before_and_limits(client: TestClient) -> None:
    body = create(client, input=[{"role": "user", "content": f"m{i}"} for i in range(4)])
    items = client.get(f"/v1/responses/{body['id']}/input_items", params={"order": "asc"}).json()["data"]
    page = client.get(f"/v1/responses/{body['id']}/input_items", params={"order": "asc", "before": items[2]["id"]})
    assert [item["id"] for item in page.json()["data"]] == [items[0]["id"], items[1]["id"]]
    for limit in (0, 101):
        reply = client.get(f"/v1/responses/{body['id']}/input_items", params={"limit": limit})
        assert reply.status_code == 400 and reply.json()["error"]["param"] == "limit"


def test_input_items_accepts_include_in_both_forms(client: TestClient) -> None:
    body = create(client, input="hi")
    for query in ("include[]=message.input_image.image_url", "include=message.input_image.image_url"):
        assert client.get(f"/v1/responses/{body['id']}/input_items?{query}").status_code == 200


def test_string_input_is_a_user_message_item(client: TestClient) -> None:
    body = create(client, input="hello there")
    [item] = client.get(f"/v1/responses/{body['id']}/input_items").json()["data"]
    assert item["type"] == "message" and item["role"] == "user" and item["id"].startswith("msg_")
    assert item["content"] == [{"type": "input_text", "text": "hello there"}]


def test_item_reference_reuses_a_stored_item(client: TestClient, upstream: FakeUpstream) -> None:
    first = create(client, input="remember me")
    [stored] = client.get(f"/v1/responses/{first['id']}/input_items").json()["data"]
    output_id = first["output"][0]["id"]

    references = [{"type": "item_reference", "id": stored["id"]}, {"id": output_id}]
    create(client, input=[*references, {"role": "user", "content": "next"}])

    assert upstream.last["messages"] == [
        {"role": "user", "content": "remember me"},
        {"role": "assistant", "content": "echo: remember me"},
        {"role": "user", "content": "next"},
    ]


def test_item_reference_to_an_unknown_item(client: TestClient) -> None:
    reply = client.post("/v1/responses", json={"model": "m", "input": [{"type": "item_reference", "id": "msg_x"}]})
    assert reply.status_code == 404
    assert reply.json()["error"]["param"] == "input"


def test_stream_query_on_a_non_background_response(client: TestClient) -> None:
    body = create(client, input="hi")
    reply = client.get(f"/v1/responses/{body['id']}", params={"stream": "true"})
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "stream"


def test_cancel_a_synchronous_response(client: TestClient) -> None:
    body = create(client, input="hi")
    assert client.post(f"/v1/responses/{body['id']}/cancel").status_code == 400
    assert client.post(f"/v1/responses/resp_{'ef' * 25}/cancel").status_code == 404
