"""The REST API: STREAM methods to api-stream, everything else buffered to api, logs, throttling, errors."""

from __future__ import annotations

import json

import pytest

from gateway_infra.api import ROUTES
from gateway_infra.config import STREAM_TIMEOUT_SECONDS
from tests.infrastructure.template import Json, Synthesized, flatten, references

pytestmark = pytest.mark.infra


def _target(stage: Synthesized, method: Json) -> str:
    """Which app function a method invokes, read from its integration URI: always through the function's alias,
    since only a published version starts from a SnapStart snapshot."""
    [alias_id] = references(method["Integration"]["Uri"])
    return {logical_id: role for role, (logical_id, _) in stage.aliases().items()}[alias_id]


def test_every_route_reaches_its_function_and_other_methods_reach_the_app(stage: Synthesized) -> None:
    expected = {(route.method, route.path): route.target for route in ROUTES}
    # any method API Gateway does not route explicitly still reaches the app, which answers in OpenAI's format
    expected |= {("ANY", route.path): "api" for route in ROUTES}

    actual = {route: _target(stage, method) for route, method in stage.methods().items()}

    assert actual == expected


def test_stream_routes_use_streaming_invocations_with_a_15_minute_timeout(stage: Synthesized) -> None:
    methods = stage.methods()
    for route in ROUTES:
        if route.target != "api-stream":
            continue
        integration = methods[(route.method, route.path)]["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        assert integration["ResponseTransferMode"] == "STREAM"
        assert integration["TimeoutInMillis"] == STREAM_TIMEOUT_SECONDS * 1000 == 900_000
        assert flatten(integration["Uri"]).endswith(
            "/2021-11-15/functions/<" + stage.aliases()["api-stream"][0] + ">/response-streaming-invocations"
        )
    assert {(route.method, route.path) for route in ROUTES if route.target == "api-stream"} == {
        ("POST", "/v1/responses"),
        ("GET", "/v1/responses/{id}"),
    }


def test_no_buffered_method_targets_the_stream_function(stage: Synthesized) -> None:
    # A function in response_stream mode answers a buffered invoke with raw stream bytes: a 502 for the client.
    for route, method in stage.methods().items():
        integration = method["Integration"]
        streams = integration.get("ResponseTransferMode") == "STREAM"
        assert streams == (_target(stage, method) == "api-stream"), route
        if not streams:
            assert flatten(integration["Uri"]).endswith("/invocations"), route
            assert "TimeoutInMillis" not in integration, route  # API Gateway's 29 s default


def test_methods_pass_the_authorization_header_to_the_app(stage: Synthesized) -> None:
    # No authorizer and proxy integrations: the app sees the bearer key and checks it against hashed keys.
    for route, method in stage.methods().items():
        assert method["AuthorizationType"] == "NONE", route
        assert method["Integration"]["Type"] == "AWS_PROXY", route
        assert "ApiKeyRequired" not in method, route


def test_api_is_regional_throttled_and_logs_errors_without_bodies(stage: Synthesized) -> None:
    [api] = stage.resources("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    # every body reaches the app as bytes (base64 in the event), compressed ones included
    assert api["Properties"]["BinaryMediaTypes"] == ["*/*"]
    [api_stage] = stage.resources("AWS::ApiGateway::Stage").values()
    properties = api_stage["Properties"]

    assert properties["StageName"] == stage.config.name
    [settings] = properties["MethodSettings"]
    assert settings["ThrottlingRateLimit"] == stage.config.throttle_rate
    assert settings["ThrottlingBurstLimit"] == stage.config.throttle_burst
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False  # bodies are prompts and outputs
    access_log = json.loads(properties["AccessLogSetting"]["Format"].replace("$context.error.messageString", '"x"'))
    assert {"requestId", "status", "resource", "integrationLatency", "error"} <= access_log.keys()
    assert not any("header" in value.lower() or "body" in value.lower() for value in access_log.values())
    [group] = references(properties["AccessLogSetting"]["DestinationArn"])
    assert stage.json["Resources"][group]["Type"] == "AWS::Logs::LogGroup"


def test_gateway_errors_use_the_openai_error_envelope(stage: Synthesized) -> None:
    responses = {
        resource["Properties"]["ResponseType"]: resource["Properties"]["ResponseTemplates"]["application/json"]
        for resource in stage.resources("AWS::ApiGateway::GatewayResponse").values()
    }

    assert set(responses) == {"DEFAULT_4XX", "DEFAULT_5XX", "THROTTLED"}
    for response_type, template in responses.items():
        body = json.loads(template.replace("$context.error.messageString", '"Too Many Requests"'))
        assert set(body["error"]) == {"message", "type", "param", "code"}, response_type
    throttled = json.loads(responses["THROTTLED"].replace("$context.error.messageString", '"x"'))
    assert throttled["error"]["code"] == "rate_limit_exceeded"


def test_one_invoke_permission_per_function(stage: Synthesized) -> None:
    # one shared grant per function, not one per method: resource policies stay far below Lambda's 20 KB
    permissions = stage.resources("AWS::Lambda::Permission").values()
    invoked = sorted(name for p in permissions for name in references(p["Properties"]["FunctionName"]))
    rest = [name for name in invoked if not name.startswith("WebSocket")]  # the WebSocket API's: one per route
    assert rest == sorted(stage.aliases()[role][0] for role in ("api-stream", "api"))


def test_conversation_routes_are_buffered_to_the_api_function(stage: Synthesized) -> None:
    methods = stage.methods()
    conversation_routes = [route for route in methods if route[1].startswith("/v1/conversations")]
    assert ("DELETE", "/v1/conversations/{id}/items/{item_id}") in conversation_routes
    assert len([route for route in conversation_routes if route[0] != "ANY"]) == 8
    for route in conversation_routes:
        assert _target(stage, methods[route]) == "api", route
