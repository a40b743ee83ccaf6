"""``DynamoConversationStore`` on moto: appends racing deletes and each other, one Query per load, S3 offload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest

from gateway.blobs.s3 import S3BlobStore
from gateway.domain.ports import StoredConversation
from gateway.schemas.items import InputText, Message
from gateway.store.conversations import DynamoConversationStore, conversation_pk
from tests.conftest import BUCKET, TABLE

TENANT = "acme"
CONVERSATION = "conv_" + "12" * 25


def message(text: str, n: int = 0) -> Message:
    return Message(id=f"msg_{n}", role="user", content=[InputText(text=text)], status="completed")


def texts(items: list[Any]) -> list[str]:
    return [part.text for item in items for part in item.content]


class Counting:
    """A DynamoDB client that counts calls and can run something just before a chosen call goes out."""

    def __init__(self) -> None:
        self.real = boto3.client("dynamodb", region_name="us-east-1")
        self.calls: list[str] = []
        self.before: dict[str, Callable[[], None]] = {}

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.real, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            hook = self.before.pop(name, None)
            if hook is not None:
                hook()
            return attribute(*args, **kwargs)

        return call

    def get_paginator(self, name: str) -> Any:
        self.calls.append(f"paginate_{name}")
        return self.real.get_paginator(name)


@pytest.fixture
def client(aws: None) -> Counting:
    return Counting()


@pytest.fixture
def store(client: Counting) -> DynamoConversationStore:
    blobs = S3BlobStore(BUCKET, boto3.client("s3", region_name="us-east-1"))
    store = DynamoConversationStore(TABLE, client, blobs)  # type: ignore[arg-type]
    store.create(StoredConversation(TENANT, CONVERSATION, 1, {}), [message("first")])
    return store


def partition(client: Counting) -> list[dict[str, Any]]:
    reply = client.real.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": conversation_pk(TENANT, CONVERSATION)}},
    )
    return reply["Items"]


def test_an_append_racing_a_delete_writes_nothing(store: DynamoConversationStore, client: Counting) -> None:
    # GIVEN an append that has read the conversation's next position, and a delete that lands right then
    client.before["transact_write_items"] = lambda: store.delete(TENANT, CONVERSATION)

    # WHEN the append commits
    appended = store.append(TENANT, CONVERSATION, [message("late")])

    # THEN it reports the conversation gone, left no orphan item and did not bring the conversation back
    assert appended is False
    assert partition(client) == []
    assert store.get(TENANT, CONVERSATION) is None
    assert store.load(TENANT, CONVERSATION) is None


def test_racing_appends_keep_both_in_order(store: DynamoConversationStore) -> None:
    # GIVEN another append that commits between this one's read and its write
    store._client.before["transact_write_items"] = lambda: store.append(TENANT, CONVERSATION, [message("other")])  # type: ignore[attr-defined]

    store.append(TENANT, CONVERSATION, [message("mine", 1), message("mine too", 2)])

    loaded = store.load(TENANT, CONVERSATION)
    assert loaded is not None
    assert texts(loaded[1]) == ["first", "other", "mine", "mine too"]


def test_updating_a_deleted_conversation_does_not_resurrect_it(store: DynamoConversationStore) -> None:
    assert store.delete(TENANT, CONVERSATION)
    assert store.update(TENANT, CONVERSATION, {"a": "b"}) is None
    assert store.get(TENANT, CONVERSATION) is None
    assert store.delete(TENANT, CONVERSATION) is False


@pytest.mark.parametrize("turns", [2, 200])
def test_loading_takes_one_query_whatever_the_length(
    store: DynamoConversationStore, client: Counting, turns: int
) -> None:
    for turn in range(turns):
        store.append(TENANT, CONVERSATION, [message(f"q{turn}"), message(f"a{turn}")])
    client.calls.clear()

    loaded = store.load(TENANT, CONVERSATION)

    assert loaded is not None and len(loaded[1]) == 1 + 2 * turns
    assert client.calls == ["paginate_query"]


def test_large_items_go_to_s3_and_come_back(store: DynamoConversationStore, client: Counting) -> None:
    big = "x" * 400_000
    store.append(TENANT, CONVERSATION, [message(big, 1)])

    rows = partition(client)
    assert any("blob" in row and "item" not in row for row in rows)
    loaded = store.load(TENANT, CONVERSATION)
    assert loaded is not None and texts(loaded[1]) == ["first", big]

    found = store.find(TENANT, CONVERSATION, "msg_1")
    assert found is not None and found[1] is not None and texts([found[1]]) == [big]
    assert store.delete(TENANT, CONVERSATION)
    s3 = boto3.client("s3", region_name="us-east-1")
    assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_a_long_append_is_written_in_order_across_transactions(store: DynamoConversationStore) -> None:
    store.append(TENANT, CONVERSATION, [message(str(n), n) for n in range(250)])

    loaded = store.load(TENANT, CONVERSATION)
    assert loaded is not None and texts(loaded[1]) == ["first", *map(str, range(250))]


def test_deleting_a_conversation_deletes_every_item(store: DynamoConversationStore, client: Counting) -> None:
    store.append(TENANT, CONVERSATION, [message(str(n), n) for n in range(60)])
    assert store.delete(TENANT, CONVERSATION)
    assert partition(client) == []
