"""The REST API: STREAM methods to api-stream, buffered methods to api.

A function in ``response_stream`` mode answers a buffered invoke with the raw stream (prelude, NULs, body), which a
buffered integration cannot parse, so every method on api-stream is STREAM and every other method goes to the
Mangum function (AWS_NOTES §1, "never mix modes").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct

from gateway_infra.config import STREAM_TIMEOUT_SECONDS, StageConfig
from gateway_infra.functions import GatewayFunctions
from gateway_infra.nag import acknowledge

Target = Literal["api-stream", "api"]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    target: Target


ROUTES: tuple[Route, ...] = (
    # STREAM also lifts the 29 s timeout and the 10 MB cap, so the create goes through it even when
    # stream=false; GET streams a background response with ?stream=true.
    Route("POST", "/v1/responses", "api-stream"),
    Route("GET", "/v1/responses/{id}", "api-stream"),
    Route("DELETE", "/v1/responses/{id}", "api"),
    Route("POST", "/v1/responses/{id}/cancel", "api"),
    Route("GET", "/v1/responses/{id}/input_items", "api"),
    Route("POST", "/v1/responses/input_tokens", "api"),
    Route("POST", "/v1/conversations", "api"),
    Route("GET", "/v1/conversations/{id}", "api"),
    Route("POST", "/v1/conversations/{id}", "api"),
    Route("DELETE", "/v1/conversations/{id}", "api"),
    Route("GET", "/v1/conversations/{id}/items", "api"),
    Route("POST", "/v1/conversations/{id}/items", "api"),
    Route("GET", "/v1/conversations/{id}/items/{item_id}", "api"),
    Route("DELETE", "/v1/conversations/{id}/items/{item_id}", "api"),
    Route("GET", "/health", "api"),
    Route("ANY", "/v1/{proxy+}", "api"),
)
"""Every route API Gateway knows. Each resource above also gets an ANY method to api, so a method the gateway
does not route (GET /v1/responses, POST /v1/responses/compact, ...) reaches the app and gets an OpenAI error
body instead of API Gateway's 403 "Missing Authentication Token"."""

# No Authorization header, no query string, no body: request logs must never carry keys or prompts.
_ACCESS_LOG_FIELDS = {
    "requestId": apigw.AccessLogField.context_request_id(),
    "ip": apigw.AccessLogField.context_identity_source_ip(),
    "requestTime": apigw.AccessLogField.context_request_time(),
    "method": apigw.AccessLogField.context_http_method(),
    "resource": apigw.AccessLogField.context_resource_path(),
    "status": apigw.AccessLogField.context_status(),
    "responseLength": apigw.AccessLogField.context_response_length(),
    "responseLatency": apigw.AccessLogField.context_response_latency(),
    "integrationStatus": apigw.AccessLogField.context_integration_status(),
    "integrationLatency": apigw.AccessLogField.context_integration_latency(),
    "userAgent": apigw.AccessLogField.context_identity_user_agent(),
}
_ERROR_MESSAGE = apigw.AccessLogField.context_error_message_string()  # already a quoted JSON string


def _access_log_format() -> apigw.AccessLogFormat:
    fields = [f'"{name}":"{value}"' for name, value in _ACCESS_LOG_FIELDS.items()]
    fields.append(f'"error":{_ERROR_MESSAGE}')
    return apigw.AccessLogFormat.custom("{" + ",".join(fields) + "}")


def _openai_error(error_type: str, code: str | None) -> str:
    """An API Gateway error in the OpenAI envelope, so SDKs raise their usual typed exceptions."""
    envelope = {"error": {"message": "MESSAGE", "type": error_type, "param": None, "code": code}}
    return json.dumps(envelope, separators=(",", ":")).replace('"MESSAGE"', _ERROR_MESSAGE)


class GatewayApi(Construct):
    """A Regional REST API with stage throttling, JSON access logs and OpenAI-shaped gateway errors."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: StageConfig, functions: GatewayFunctions
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays[config.log_retention],
            removal_policy=RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY,
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=config.stack_name,
            description="OpenAI Responses API gateway",
            # Edge-optimized endpoints close idle connections after 30 s, too soon for a reasoning pause.
            endpoint_configuration=apigw.EndpointConfiguration(types=[apigw.EndpointType.REGIONAL]),
            # Without binary media types a request body is passed on as UTF-8 text, which a compressed body
            # (Codex sends zstd with Content-Type application/json) is not. With them every body reaches the
            # functions base64-encoded (Mangum and the web adapter decode it): a third more toward Lambda's 6 MB
            # request payload, so plain bodies up to about 4.5 MB, compressed ones up to RESPONSES_MAX_BODY_BYTES
            # once decompressed. Responses are unaffected: the functions never flag theirs as base64.
            binary_media_types=["*/*"],
            # The account-level role API Gateway writes logs through is set once per account and region by the
            # account stack (account.py), not per stage: a second AWS::ApiGateway::Account would fight the first.
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=config.name,
                throttling_rate_limit=config.throttle_rate,
                throttling_burst_limit=config.throttle_burst,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=_access_log_format(),
                # Errors only, and never request or response bodies (prompts and outputs).
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
            ),
        )
        self._add_routes(functions)
        self._add_error_responses()
        self._acknowledge_findings()

    @property
    def base_url(self) -> str:
        """What an OpenAI SDK takes as ``base_url``."""
        return self.rest_api.url_for_path("/v1")

    def _add_routes(self, functions: GatewayFunctions) -> None:
        # One shared permission per function instead of one per method keeps each function's resource policy
        # far from Lambda's 20 KB limit as routes are added.
        integrations: dict[Target, apigw.LambdaIntegration] = {
            # The aliases, not the functions: only published versions start from a SnapStart snapshot.
            "api-stream": apigw.LambdaIntegration(
                functions.api_stream_live,
                response_transfer_mode=apigw.ResponseTransferMode.STREAM,
                timeout=Duration.seconds(STREAM_TIMEOUT_SECONDS),
                scope_permission_to_method=False,
            ),
            "api": apigw.LambdaIntegration(functions.api_live, scope_permission_to_method=False),
        }
        resources: dict[str, apigw.IResource] = {}
        for route in ROUTES:
            resource = resources.setdefault(route.path, self.rest_api.root.resource_for_path(route.path))
            resource.add_method(route.method, integrations[route.target])
        for path, resource in resources.items():
            if not any(route.path == path and route.method == "ANY" for route in ROUTES):
                resource.add_method("ANY", integrations["api"])

    def _add_error_responses(self) -> None:
        self.rest_api.add_gateway_response(
            "Throttled",
            type=apigw.ResponseType.THROTTLED,
            templates={"application/json": _openai_error("requests", "rate_limit_exceeded")},
        )
        self.rest_api.add_gateway_response(
            "Default4xx",
            type=apigw.ResponseType.DEFAULT_4_XX,
            templates={"application/json": _openai_error("invalid_request_error", None)},
        )
        self.rest_api.add_gateway_response(
            "Default5xx",
            type=apigw.ResponseType.DEFAULT_5_XX,
            templates={"application/json": _openai_error("server_error", None)},
        )

    def _acknowledge_findings(self) -> None:
        in_app_auth = (
            "Clients are OpenAI SDKs sending 'Authorization: Bearer <key>'. The app checks that key itself "
            "against SHA-256 hashes in DynamoDB (constant-time compare, cached per instance) and answers 401 in "
            "the OpenAI error format; deployed stacks set RESPONSES_REQUIRE_AUTH=true. A Lambda authorizer "
            "would add a second cold start to every uncached request (AWS_NOTES §7)."
        )
        findings = {
            "AwsSolutions-APIG4": in_app_auth,
            "AwsSolutions-COG4": in_app_auth,
            "AwsSolutions-APIG2": "The app validates every body and parameter with pydantic and answers 400 "
            "in the OpenAI error format naming the offending param; an API Gateway validator would answer in "
            "its own format, which OpenAI SDKs cannot parse.",
            "AwsSolutions-APIG3": "A WAF web ACL bills a monthly fee per ACL and rule even with no traffic, "
            "against the project's pay-per-request design; stage throttling is the backstop, and an operator "
            "can associate a web ACL with the stage without changing this stack.",
        }
        acknowledge(self.rest_api, findings)
