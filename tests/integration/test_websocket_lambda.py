"""WebSocket mode on AWS: ``gateway.handlers.websocket.handler`` driven with API Gateway's WebSocket events and
the turns queue's SQS events, against moto (DynamoDB, SQS) and the fake upstream. The connection management API
is faked at the botocore boundary (moto keeps only the concatenated bytes, not the frames)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from gateway.api.deps import build_services
from gateway.handlers import websocket
from gateway.providers.registry import ProviderRegistry
from tests.conftest import TABLE, make_settings
from tests.fakes.upstream import FakeUpstream, text_reply

API_ID, STAGE = "abc123", "dev"
DOMAIN = "ws.example.com"  # a custom domain: @connections is still the API's execute-api endpoint
ENDPOINT = f"https://{API_ID}.execute-api.us-east-1.amazonaws.com/{STAGE}"
KEY = "key-acme"


class Connections:
    """The far side of ``@connections``: frames posted per connection, and the connections closed."""

    def __init__(self) -> None:
        self.frames: dict[str, list[dict[str, Any]]] = {}
        self.closed: list[str] = []
        self.gone: set[str] = set()
        self.gone_after: dict[str, int] = {}
        """Connections that go away after this many frames."""
        self.refused = 0

    def answer(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        connection_id = request.url.rsplit("/", 1)[1]
        if len(self.frames.get(connection_id, [])) >= self.gone_after.get(connection_id, 1 << 30):
            self.gone.add(connection_id)
        if connection_id in self.gone:
            self.refused += 1
            body = json.dumps({"message": "gone"}).encode()
            headers: Any = {"x-amzn-ErrorType": "GoneException"}
            return AWSResponse(request.url, 410, headers, _Raw(body))
        if request.method == "DELETE":
            self.closed.append(connection_id)
        else:
            assert isinstance(request.body, bytes)
            assert len(request.body) <= 128 * 1024
            self.frames.setdefault(connection_id, []).append(json.loads(request.body))
        empty: Any = {}
        return AWSResponse(request.url, 200, empty, _Raw(b""))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class Lambda:
    """The function as API Gateway and the SQS event source call it; ``cold()`` is a new instance."""

    def __init__(self, upstream: FakeUpstream, queue_url: str, far: Connections, **overrides: Any) -> None:
        self.upstream, self.queue_url, self.far, self.overrides = upstream, queue_url, far, overrides
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.cold()

    def cold(self) -> None:
        websocket.reset()
        settings = make_settings(api_keys=f"acme:{KEY}", websocket_queue_url=self.queue_url, **self.overrides)
        services = build_services(
            settings, providers=ProviderRegistry(settings, http_transport=self.upstream.transport())
        )
        runtime = websocket._runtime = websocket.Runtime(services)
        runtime.management(ENDPOINT).meta.events.register_first("before-send.apigatewaymanagementapi", self.far.answer)

    def connect(self, connection_id: str, key: str | None = KEY, connected_at: float | None = None) -> Any:
        headers = {"Host": DOMAIN, **({"Authorization": f"Bearer {key}"} if key else {})}
        at = int((connected_at or time.time()) * 1000)
        return websocket.handler({"headers": headers, "requestContext": self._context(connection_id, "$connect", at)})

    def send(self, connection_id: str, frame: dict[str, Any] | str, *, binary: bool = False) -> Any:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        body = base64.b64encode(text.encode()).decode() if binary else text
        context = {**self._context(connection_id, "$default"), "messageId": f"m{time.time_ns()}"}
        return websocket.handler({"body": body, "isBase64Encoded": binary, "requestContext": context})

    def disconnect(self, connection_id: str) -> Any:
        return websocket.handler({"requestContext": self._context(connection_id, "$disconnect")})

    def run_queued(self) -> list[Any]:
        """Deliver every queued turn to the function, as the event source does (one per invocation)."""
        delivered: list[Any] = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, AttributeNames=["All"]).get("Messages", [])
            if not messages:
                return delivered
            for message in messages:
                record = {
                    "messageId": message["MessageId"],
                    "body": message["Body"],
                    "attributes": message["Attributes"],
                }
                assert websocket.handler({"Records": [record]}) == {"batchItemFailures": []}
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
                delivered.append(message)

    @staticmethod
    def _context(connection_id: str, route: str, connected_at: int | None = None) -> dict[str, Any]:
        context: dict[str, Any] = {
            "routeKey": route,
            "connectionId": connection_id,
            "domainName": DOMAIN,
            "stage": STAGE,
            "apiId": API_ID,
        }
        if connected_at is not None:
            context["connectedAt"] = connected_at
        return context


@pytest.fixture
def far() -> Connections:
    return Connections()


@pytest.fixture
def queue_url(aws: None) -> str:
    sqs = boto3.client("sqs", region_name="us-east-1")
    attributes: Any = {
        "FifoQueue": "true",
        "DeduplicationScope": "messageGroup",
        "FifoThroughputLimit": "perMessageGroupId",
    }
    return str(sqs.create_queue(QueueName="turns.fifo", Attributes=attributes)["QueueUrl"])


@pytest.fixture
def function(queue_url: str, upstream: FakeUpstream, far: Connections) -> Iterator[Lambda]:
    yield Lambda(upstream, queue_url, far)
    websocket.reset()


def _connection_items(connection_id: str) -> list[dict[str, Any]]:
    found = boto3.client("dynamodb", region_name="us-east-1").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"ws#{connection_id}"}},
    )
    return list(found["Items"])


def test_connect_checks_the_key_and_refuses_with_the_openai_envelope(function: Lambda) -> None:
    refused = function.connect("c-1", key="wrong")
    assert refused["statusCode"] == 401
    assert json.loads(refused["body"])["error"]["code"] == "invalid_api_key"
    assert function.connect("c-2", key=None)["statusCode"] == 401
    assert not _connection_items("c-1")

    assert function.connect("c-3") == {"statusCode": 200}
    [item] = _connection_items("c-3")
    assert item["tenant"] == {"S": "acme"}
    assert KEY not in json.dumps(item)  # the key itself is never kept
    assert int(item["expires_at"]["N"]) > time.time() + 7000  # the table's TTL outlives a 2 h connection


def test_a_create_is_queued_per_lane_and_its_events_are_posted_back(function: Lambda, far: Connections) -> None:
    function.connect("c-1")
    function.send("c-1", {"type": "response.create", "model": "gpt-4o", "input": "ping", "stream_id": "lane.a"})
    [message] = function.run_queued()
    assert message["Attributes"]["MessageGroupId"] == "c-1#lane.a"  # one FIFO group per connection and lane

    frames = far.frames["c-1"]
    assert [f["type"] for f in frames][:2] == ["response.created", "response.in_progress"]
    assert frames[-1]["type"] == "response.completed"
    assert [f["sequence_number"] for f in frames] == list(range(len(frames)))
    assert {f["stream_id"] for f in frames} == {"lane.a"}
    deltas = [f for f in frames if f["type"] == "response.output_text.delta"]
    # the three upstream pieces arrive as one merged delta
    assert len(deltas) == 1
    assert deltas[0]["delta"] == "echo: ping"
    assert frames[-1]["response"]["output"][0]["content"][0]["text"] == "echo: ping"


def test_store_false_continues_on_another_instance_and_dies_with_the_connection(
    function: Lambda, far: Connections, upstream: FakeUpstream
) -> None:
    function.connect("c-1")
    function.send("c-1", {"type": "response.create", "model": "gpt-4o", "input": "first", "store": False})
    function.run_queued()
    first = far.frames["c-1"][-1]["response"]["id"]

    function.cold()  # the next turn runs in another function instance
    function.send(
        "c-1", {"type": "response.create", "model": "gpt-4o", "input": "second", "previous_response_id": first}
    )
    function.run_queued()
    assert far.frames["c-1"][-1]["type"] == "response.completed"
    sent = [m["content"] for m in upstream.last["messages"]]
    assert sent[:2] == ["first", "echo: first"]
    kept = json.dumps(_connection_items("c-1"))
    assert first in kept and "echo: first" not in kept  # the cache is in the table, its responses sealed

    assert function.disconnect("c-1") == {"statusCode": 200}
    assert not _connection_items("c-1")  # the connection and its cache


def test_an_unknown_store_false_id_is_previous_response_not_found(function: Lambda, far: Connections) -> None:
    function.connect("c-1")
    function.send(
        "c-1", {"type": "response.create", "model": "gpt-4o", "input": "x", "previous_response_id": "resp_gone"}
    )
    function.run_queued()
    [error] = far.frames["c-1"]
    assert error["type"] == "error"
    assert error["error"]["code"] == "previous_response_not_found"


def test_bad_frames_are_answered_at_once_and_nothing_is_queued(function: Lambda, far: Connections) -> None:
    function.connect("c-1")
    function.send("c-1", "not json")
    function.send("c-1", {"type": "response.steer"})
    function.send("c-1", {"type": "response.create", "stream_id": "bad lane"})
    function.send("c-1", {"type": "response.processed"})
    function.send("c-1", json.dumps({"type": "response.create", "input": "x" * (128 * 1024)}), binary=True)
    codes = [f["error"]["code"] for f in far.frames["c-1"]]
    assert codes == ["invalid_json", "unsupported_event", "invalid_stream_id", "request_too_large"]
    assert far.frames["c-1"][-1]["status"] == 413
    assert function.run_queued() == []


def test_a_turn_past_the_connection_limit_is_refused_and_the_connection_closed(
    function: Lambda, far: Connections, upstream: FakeUpstream
) -> None:
    function.connect("c-1", connected_at=time.time() - 3601)
    function.send("c-1", {"type": "response.create", "model": "gpt-4o", "input": "late"})
    function.run_queued()
    [error] = far.frames["c-1"]
    assert error["error"]["code"] == "websocket_connection_limit_reached"
    assert far.closed == ["c-1"]
    assert not upstream.requests


def test_a_turn_of_a_closed_connection_calls_no_model(
    function: Lambda, far: Connections, upstream: FakeUpstream
) -> None:
    function.connect("c-1")
    function.send("c-1", {"type": "response.create", "model": "gpt-4o", "input": "x"})
    function.disconnect("c-1")
    function.run_queued()
    assert not upstream.requests
    assert "c-1" not in far.frames


def test_a_client_gone_mid_turn_stops_the_response_and_the_delivery_is_done(
    function: Lambda, far: Connections, upstream: FakeUpstream
) -> None:
    upstream.will(text_reply(*(f"piece {n} " for n in range(200)), delay=0.005))
    function.connect("c-1")
    function.send("c-1", {"type": "response.create", "model": "gpt-4o", "input": "x"})
    far.gone_after["c-1"] = 2  # response.created, response.in_progress, then the client is gone
    assert len(function.run_queued()) == 1  # handled, not redelivered: its frames cannot be taken back
    assert [f["type"] for f in far.frames["c-1"]] == ["response.created", "response.in_progress"]
    assert far.refused == 1  # nothing more was posted once the connection was gone


def test_a_connection_names_at_most_32_lanes(function: Lambda, far: Connections) -> None:
    function.connect("c-1")
    for n in range(32):
        function.send("c-1", {"type": "response.create", "model": "gpt-4o", "input": "x", "stream_id": f"s{n}"})
    function.send("c-1", {"type": "response.create", "model": "gpt-4o", "input": "x", "stream_id": "s0"})  # known
    function.send("c-1", {"type": "response.create", "model": "gpt-4o", "input": "x", "stream_id": "s32"})
    [refused] = far.frames["c-1"]
    assert refused["error"]["code"] == "websocket_stream_limit_reached"
    assert refused["stream_id"] == "s32"


def test_a_turn_that_fails_around_the_model_call_answers_a_server_error_and_is_not_redelivered(
    function: Lambda, far: Connections, monkeypatch: pytest.MonkeyPatch
) -> None:
    function.connect("c-1")
    function.send("c-1", {"type": "response.create", "model": "gpt-4o", "input": "x", "stream_id": "a"})

    def unavailable(connection_id: str) -> None:
        raise RuntimeError("the table is unavailable")

    assert websocket._runtime is not None
    monkeypatch.setattr(websocket._runtime.connections, "get", unavailable)
    assert len(function.run_queued()) == 1  # the delivery is done (run_queued checks no item failed)
    [error] = far.frames["c-1"]
    assert (error["type"], error["status"], error["error"]["code"], error["stream_id"]) == (
        "error",
        500,
        "server_error",
        "a",
    )


def test_a_frame_the_queue_refuses_is_answered_with_a_server_error_frame(
    function: Lambda, far: Connections, monkeypatch: pytest.MonkeyPatch
) -> None:
    function.connect("c-1")
    runtime = websocket._runtime
    assert runtime is not None

    def refused(**_: Any) -> None:
        raise RuntimeError("the queue is unavailable")

    monkeypatch.setattr(runtime.sqs, "send_message", refused)
    assert function.send("c-1", {"type": "response.create", "model": "gpt-4o", "input": "日本語" * 100}) == {
        "statusCode": 200
    }
    [error] = far.frames["c-1"]
    assert (error["status"], error["error"]["code"]) == (500, "server_error")


def test_a_create_of_non_ascii_text_near_the_frame_limit_fits_one_queue_message(
    function: Lambda, far: Connections
) -> None:
    function.connect("c-1")
    text = "\N{GRINNING FACE}" * 32_000  # 125 KB of UTF-8; as \\u escapes (12 bytes each) past SQS's 256 KB
    frame = {"type": "response.create", "model": "gpt-4o", "input": text, "generate": False}
    function.send("c-1", json.dumps(frame, ensure_ascii=False))
    [message] = function.run_queued()
    assert len(message["Body"].encode()) <= 256 * 1024  # SQS's limit (moto does not enforce it)
    assert json.loads(message["Body"])["body"]["input"] == text
    assert far.frames["c-1"][-1]["type"] == "response.completed"
