"""A dry run of the whole deployment without an account: every function of the synthesized dev stage started as
Lambda starts it (handler, runtime environment, the template's variables with moto standing in for the table,
queue, bucket and secrets), every route sent as API Gateway sends it to the function the template routes it to,
and the worker fed as its SQS event source mapping feeds it. The upstream is a fake on loopback.

Which code runs is the variant's (tests/deploy/variants.py): the arm64 bundle as shipped under qemu, a bundle
built for this machine, or the source tree; the terminal summary says which ran.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.deploy import aws
from tests.deploy.conftest import UPSTREAM_KEY, Deployed
from tests.deploy.lambdas import Buffered
from tests.deploy.stack import Reply
from tests.deploy.template import resolve
from tests.sse import parse

pytestmark = pytest.mark.deploy
MODEL = "gpt-4o-mini"
Json = dict[str, Any]
STREAM_HANDLER = "gateway/handlers/run.sh"
API_HANDLER = "gateway.handlers.api.handler"
WORKER_HANDLER = "gateway.handlers.worker.handler"
WEBSOCKET_HANDLER = "gateway.handlers.websocket.handler"


def ok(reply: Reply, status: int = 200) -> Any:
    assert reply.status == status, (reply.function, reply.status, reply.text)
    return reply.json()


def envelope(reply: Reply, status: int) -> Json:
    """OpenAI's error envelope, and nothing else."""
    assert reply.status == status, (reply.function, reply.status, reply.text)
    error = reply.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return dict(error)


def test_each_function_starts_as_lambda_starts_it(deployed: Deployed) -> None:
    stack = deployed.stack
    handlers = {stack.function(i).handler: ready for i, ready in stack.ready.items()}
    assert set(handlers) == {STREAM_HANDLER, API_HANDLER, WORKER_HANDLER, WEBSOCKET_HANDLER}
    for logical_id, ready in stack.ready.items():
        function = stack.function(logical_id)
        assert function.snap_start, logical_id
        if function.handler == STREAM_HANDLER:
            # the adapter's readiness check, then its SnapStart after-restore call, answered by the app
            assert ready["readiness_status"] == 200
            assert ready["after_restore_status"] == 204
            continue
        assert ready["machine"] == stack.variant.machine
        assert ready["handler_file"].startswith(str(stack.variant.task_root))
        # the runtime's hook library got the gateway's after-restore hook (random reseeded per copy)
        assert ready["after_restore_hooks"] == 1
        if stack.variant.name == "arm64":
            # the interpreter Lambda would run: the template's runtime on the template's architecture
            assert f"python{ready['python'].rsplit('.', 1)[0]}" == function.runtime
            assert function.architectures == ("arm64",) and ready["machine"] == "aarch64"


def test_health_models_and_a_refused_key(deployed: Deployed) -> None:
    stack = deployed.stack
    health = stack.request("GET", "/health", key=None)
    assert health.status == 200 and health.function == API_HANDLER

    models = stack.request("GET", "/v1/models", key=deployed.key)
    assert models.function == API_HANDLER  # ANY /v1/{proxy+}
    assert ok(models)["object"] == "list"  # the fake upstream lists no models

    refused = envelope(stack.request("GET", "/v1/models", key="sk-not-a-key"), 401)
    assert refused["type"] == "invalid_request_error"
    missing = stack.request("POST", "/v1/responses", key=None, body={"model": MODEL, "input": "hi"})
    assert missing.function == STREAM_HANDLER
    envelope(missing, 401)


def test_a_buffered_create_then_retrieve_input_items_and_delete(deployed: Deployed) -> None:
    stack = deployed.stack
    create = stack.request("POST", "/v1/responses", key=deployed.key, body={"model": MODEL, "input": "dry run"})
    assert create.function == STREAM_HANDLER
    response = ok(create)
    assert response["status"] == "completed"
    assert response["output"][0]["content"][0]["text"] == "echo: dry run"
    # the upstream key came from the provider secret in Secrets Manager
    assert deployed.upstream.headers[-1]["authorization"] == f"Bearer {UPSTREAM_KEY}"

    retrieved = stack.request("GET", f"/v1/responses/{response['id']}", key=deployed.key)
    assert retrieved.function == STREAM_HANDLER
    assert ok(retrieved)["output"] == response["output"]
    items = stack.request("GET", f"/v1/responses/{response['id']}/input_items", key=deployed.key)
    assert items.function == API_HANDLER
    assert [item["content"][0]["text"] for item in ok(items)["data"]] == ["dry run"]

    deleted = stack.request("DELETE", f"/v1/responses/{response['id']}", key=deployed.key)
    assert deleted.function == API_HANDLER
    assert ok(deleted)["deleted"] is True
    envelope(stack.request("GET", f"/v1/responses/{response['id']}", key=deployed.key), 404)


def test_a_streamed_create_through_the_web_adapter(deployed: Deployed) -> None:
    body = {"model": MODEL, "input": "streamed", "stream": True}
    reply = deployed.stack.request("POST", "/v1/responses", key=deployed.key, body=body)

    assert reply.status == 200 and reply.function == STREAM_HANDLER
    assert reply.headers["content-type"].startswith("text/event-stream")
    events = parse(reply.text)
    assert events[0][0] == "response.created" and events[-1][0] == "response.completed"
    deltas = "".join(data["delta"] for name, data in events if name == "response.output_text.delta")
    assert deltas == "echo: streamed"


def _background(deployed: Deployed, text: str) -> Json:
    body = {"model": MODEL, "input": text, "background": True}
    response = ok(deployed.stack.request("POST", "/v1/responses", key=deployed.key, body=body))
    assert response["status"] == "queued"
    return dict(response)


def _work_until_processed(deployed: Deployed, response_id: str) -> Any:
    """Poll as the event source mapping does until the batch holding this response's job was run."""
    for _ in range(5):
        messages, result = deployed.stack.poll_queue()
        assert deployed.stack.trigger.report_batch_item_failures
        assert len(messages) <= deployed.stack.trigger.batch_size
        if any(response_id in message["Body"] for message in messages):
            return result
    raise AssertionError(f"no job for {response_id} on the queue")


def test_the_worker_runs_a_queued_background_response(deployed: Deployed) -> None:
    response = _background(deployed, "later")

    result = _work_until_processed(deployed, response["id"])

    assert result == {"batchItemFailures": []}
    done = ok(deployed.stack.request("GET", f"/v1/responses/{response['id']}", key=deployed.key))
    assert done["status"] == "completed"
    assert done["output"][0]["content"][0]["text"] == "echo: later"


def test_a_queued_background_response_is_cancelled_and_the_worker_leaves_it(deployed: Deployed) -> None:
    response = _background(deployed, "never")

    cancel = deployed.stack.request("POST", f"/v1/responses/{response['id']}/cancel", key=deployed.key)
    assert cancel.function == API_HANDLER
    assert ok(cancel)["status"] == "cancelled"

    assert _work_until_processed(deployed, response["id"]) == {"batchItemFailures": []}
    after = ok(deployed.stack.request("GET", f"/v1/responses/{response['id']}", key=deployed.key))
    assert after["status"] == "cancelled"


def test_conversations(deployed: Deployed) -> None:
    stack, key = deployed.stack, deployed.key
    created = stack.request("POST", "/v1/conversations", key=key, body={"metadata": {"run": "dry"}})
    assert created.function == API_HANDLER
    conversation = ok(created)
    path = f"/v1/conversations/{conversation['id']}"
    message = {"type": "message", "role": "user", "content": "kept"}
    added = ok(stack.request("POST", f"{path}/items", key=key, body={"items": [message]}))
    [item] = added["data"]

    assert ok(stack.request("GET", path, key=key))["metadata"] == {"run": "dry"}
    listed = ok(stack.request("GET", f"{path}/items", key=key))
    assert [i["id"] for i in listed["data"]] == [item["id"]]
    assert ok(stack.request("GET", f"{path}/items/{item['id']}", key=key))["content"][0]["text"] == "kept"
    reply = ok(
        stack.request(
            "POST",
            "/v1/responses",
            key=key,
            body={"model": MODEL, "input": "in it", "conversation": conversation["id"]},
        )
    )
    assert reply["output"][0]["content"][0]["text"] == "echo: in it"
    assert len(ok(stack.request("GET", f"{path}/items", key=key))["data"]) == 3
    ok(stack.request("DELETE", f"{path}/items/{item['id']}", key=key))
    assert ok(stack.request("DELETE", path, key=key))["deleted"] is True
    envelope(stack.request("GET", path, key=key), 404)


def test_input_tokens_and_compact(deployed: Deployed) -> None:
    stack, key = deployed.stack, deployed.key
    counted = stack.request("POST", "/v1/responses/input_tokens", key=key, body={"model": MODEL, "input": "count me"})
    assert counted.function == API_HANDLER
    assert ok(counted)["input_tokens"] > 0

    compact = stack.request(
        "POST",
        "/v1/responses/compact",
        key=key,
        body={"model": MODEL, "input": [{"role": "user", "content": "squeeze"}]},
    )
    assert compact.function == API_HANDLER  # no method of its own: ANY on /v1/responses/{id}
    output = ok(compact)["output"]
    # the compaction item is sealed with the sealing secret CloudFormation generated
    assert output[-1]["type"] == "compaction" and output[-1]["encrypted_content"]


def test_the_usage_api_for_an_admin_key_only(deployed: Deployed) -> None:
    stack = deployed.stack
    query = {"start_time": str(int(time.time()) - 86_400)}
    usage = stack.request("GET", "/v1/organization/usage/completions", key=deployed.admin_key, query=query)
    assert usage.function == API_HANDLER
    buckets = ok(usage)["data"]
    requests = sum(result["num_model_requests"] for bucket in buckets for result in bucket["results"])
    assert requests >= 1, json.dumps(buckets)[:500]
    envelope(stack.request("GET", "/v1/organization/usage/completions", key=deployed.key, query=query), 403)


def test_no_secret_reaches_a_functions_log(deployed: Deployed) -> None:
    stack = deployed.stack
    ok(stack.request("POST", "/v1/responses", key=deployed.key, body={"model": MODEL, "input": "logged?"}))
    ok(stack.request("GET", "/v1/models", key=deployed.key))  # the api function reads the provider secret too
    logs = {name: function.log_path.read_text(errors="replace") for name, function in stack.functions.items()}
    [function, *_] = stack.deployment.functions().values()
    sealing = stack.provisioned.stand_ins[function.environment["RESPONSES_SEALING_SECRET_ID"]["Ref"]]
    sealing_keys = json.loads(
        aws.client("secretsmanager", stack.aws_endpoint).get_secret_value(SecretId=sealing)["SecretString"]
    )["keys"]

    for name, text in logs.items():
        for secret in (UPSTREAM_KEY, deployed.key, sealing_keys, "logged?"):
            assert secret not in text, (name, secret[:6])


# WebSocket mode: the WebSocket API's function, fed API Gateway's $connect and $default events. (A queued turn posts
# to the connection management API, which has no stand-in here; tests/integration/test_websocket_lambda.py runs it.)
def _ws_context(route: str, **more: Any) -> dict[str, Any]:
    return {
        "routeKey": route,
        "connectionId": "c-dry",
        "apiId": "abc123",
        "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
        "stage": "dev",
        **more,
    }


def test_the_websocket_function_checks_the_key_and_queues_each_create_on_its_lane(deployed: Deployed) -> None:
    stack = deployed.stack
    [logical_id] = [i for i in stack.functions if stack.function(i).handler == WEBSOCKET_HANDLER]
    function = stack.functions[logical_id]
    assert isinstance(function, Buffered)

    def connect(key: str) -> Any:
        headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "Authorization": f"Bearer {key}"}
        return function.invoke({"headers": headers, "requestContext": _ws_context("$connect", connectedAt=1_000)})

    refused = connect("sk-wrong")
    assert refused["statusCode"] == 401
    assert json.loads(refused["body"])["error"]["code"] == "invalid_api_key"
    assert connect(deployed.key) == {"statusCode": 200}

    frame = {"type": "response.create", "model": "gpt-4o", "input": "hi", "stream_id": "lane-1"}
    event = {
        "body": json.dumps(frame),
        "isBase64Encoded": False,
        "requestContext": _ws_context("$default", messageId="m1"),
    }
    assert function.invoke(event) == {"statusCode": 200}

    # the queue the template hands the function is where the create waits, in its lane's message group
    url = resolve(stack.function(logical_id).environment["RESPONSES_WEBSOCKET_QUEUE_URL"], stack.provisioned.stand_ins)
    sqs = aws.client("sqs", stack.aws_endpoint)
    [message] = sqs.receive_message(QueueUrl=url, AttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
    assert message["Attributes"]["MessageGroupId"] == "c-dry#lane-1"
    assert json.loads(message["Body"])["body"] == {"model": "gpt-4o", "input": "hi"}

    assert function.invoke({"requestContext": _ws_context("$disconnect")}) == {"statusCode": 200}
