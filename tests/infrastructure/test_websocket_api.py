"""WebSocket mode on AWS: the WebSocket API, its function, the turns queue and the connection cache's home."""

from __future__ import annotations

import json

import pytest

from gateway_infra.functions import ALIAS
from gateway_infra.websocket import TURN_TIMEOUT_SECONDS, WEBSOCKET_HANDLER
from tests.infrastructure.template import Json, Synthesized, references

pytestmark = pytest.mark.infra


def _function(stage: Synthesized) -> tuple[str, Json]:
    [found] = [
        (logical_id, resource["Properties"])
        for logical_id, resource in stage.resources("AWS::Lambda::Function").items()
        if resource["Properties"].get("Handler") == WEBSOCKET_HANDLER
    ]
    return found


def _alias(stage: Synthesized, function_id: str) -> str:
    [alias] = [
        logical_id
        for logical_id, resource in stage.resources("AWS::Lambda::Alias").items()
        if references(resource["Properties"]["FunctionName"]) == {function_id}
    ]
    return alias


def test_the_websocket_api_routes_connect_default_and_disconnect_to_the_function_alias(stage: Synthesized) -> None:
    [api_id] = stage.resources("AWS::ApiGatewayV2::Api")
    api = stage.json["Resources"][api_id]["Properties"]
    assert api["ProtocolType"] == "WEBSOCKET"
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"] for r in stage.resources("AWS::ApiGatewayV2::Route").values()
    }
    assert set(routes) == {"$connect", "$default", "$disconnect"}
    function_id, _ = _function(stage)
    alias_id = _alias(stage, function_id)
    integrations = stage.resources("AWS::ApiGatewayV2::Integration")
    for route in routes.values():
        [integration_id] = references(route["Target"])
        integration = integrations[integration_id]["Properties"]
        assert integration["IntegrationType"] == "AWS_PROXY"
        assert alias_id in references(integration["IntegrationUri"])  # the snapshotted version, never $LATEST
    # API Gateway may invoke only the alias, and only from this API
    for permission in stage.resources("AWS::Lambda::Permission").values():
        named = references(permission["Properties"]["FunctionName"])
        if function_id in named or alias_id in named:
            assert named == {alias_id}
            assert api_id in references(permission["Properties"]["SourceArn"])


def test_the_stage_is_throttled_and_logs_no_header_or_body(stage: Synthesized) -> None:
    [properties] = [s["Properties"] for s in stage.resources("AWS::ApiGatewayV2::Stage").values()]
    assert properties["StageName"] == stage.config.name
    assert properties["AutoDeploy"] is True
    assert properties["DefaultRouteSettings"]["ThrottlingRateLimit"] == stage.config.throttle_rate
    assert properties["DefaultRouteSettings"]["ThrottlingBurstLimit"] == stage.config.throttle_burst
    # messageString is already a quoted JSON string
    line = json.loads(properties["AccessLogSettings"]["Format"].replace("$context.error.messageString", '"x"'))
    assert "connectionId" in line and "requestId" in line
    assert not any("header" in value.lower() or "body" in value.lower() for value in line.values())
    assert properties.get("DefaultRouteSettings", {}).get("DataTraceEnabled") in (None, False)


def test_the_function_runs_from_a_snapshot_and_gets_the_turns_queue(stage: Synthesized) -> None:
    function_id, properties = _function(stage)
    assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert properties["Timeout"] == TURN_TIMEOUT_SECONDS
    variables = properties["Environment"]["Variables"]
    [turns_id] = references(variables["RESPONSES_WEBSOCKET_QUEUE_URL"])
    turns = stage.json["Resources"][turns_id]["Properties"]
    assert turns["FifoQueue"] is True  # per-lane order: one message group per connection and stream_id
    assert turns["FifoThroughputLimit"] == "perMessageGroupId"
    assert turns["DeduplicationScope"] == "messageGroup"
    assert turns["SqsManagedSseEnabled"] is True
    assert turns["RedrivePolicy"]["maxReceiveCount"] == 1  # a turn's frames are sent: never run it twice
    assert turns["VisibilityTimeout"] >= 6 * TURN_TIMEOUT_SECONDS
    alias_id = _alias(stage, function_id)
    [mapping] = [
        m["Properties"]
        for m in stage.resources("AWS::Lambda::EventSourceMapping").values()
        if references(m["Properties"]["EventSourceArn"]) == {turns_id}
    ]
    assert references(mapping["FunctionName"]) == {alias_id}
    assert mapping["FunctionName"]["Fn::Join"][1][-1] == f":{ALIAS}"
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "ScalingConfig" not in mapping  # interactive, as a streamed POST: not capped like background jobs
    # the same table as every function: the connection and its store:false cache live there, with the TTL
    [table_id] = stage.resources("AWS::DynamoDB::GlobalTable")
    assert references(variables["RESPONSES_TABLE_NAME"]) == {table_id}


def test_the_function_may_post_to_connections_of_its_own_api_only(stage: Synthesized) -> None:
    _, properties = _function(stage)
    [role_id] = references(properties["Role"])
    [api_id] = stage.resources("AWS::ApiGatewayV2::Api")
    statements = [
        statement
        for policy in stage.resources("AWS::IAM::Policy").values()
        if role_id in references(policy["Properties"]["Roles"])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    [manage] = [s for s in statements if s["Action"] == "execute-api:ManageConnections"]
    assert references(manage["Resource"]) == {api_id}
    assert "/@connections/" in json.dumps(manage["Resource"])
    # and sends only to its own turns queue
    sends = [s for s in statements if "sqs:SendMessage" in s["Action"]]
    assert all(next(iter(references(s["Resource"]))).startswith("WebSocketTurns") for s in sends)


def test_the_stack_outputs_the_wss_url(stage: Synthesized) -> None:
    output = stage.json["Outputs"]["WebSocketUrl"]["Value"]
    assert json.dumps(output).startswith('{"Fn::Join": ["", ["wss://"')
