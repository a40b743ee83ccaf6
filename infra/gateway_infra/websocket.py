"""WebSocket mode on AWS: an API Gateway WebSocket API, the function behind it and the turns queue.

The REST API cannot upgrade a connection, so WebSocket mode has its own API (``wss://…/<stage>``):
``$connect`` (the key check), ``$default`` (client frames) and ``$disconnect`` all reach one function
(``gateway/handlers/websocket.py``). ``$default`` answers within API Gateway's 29 s by queueing each
``response.create`` on an SQS FIFO queue, one message group per connection and ``stream_id``, which the same
function consumes (batch size 1) to run the turn and post its events through ``@connections``.
"""

from __future__ import annotations

import jsii
from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk.aws_apigatewayv2_integrations import WebSocketLambdaIntegration
from aws_cdk.aws_lambda_event_sources import SqsEventSource
from constructs import Construct

from gateway_infra.config import PYTHON_VERSION, StageConfig, app_environment
from gateway_infra.functions import ALIAS, APPLICATION_LOG_LEVELS, RUNTIME, GatewayFunctions
from gateway_infra.nag import acknowledge
from gateway_infra.provider_keys import ProviderKeys
from gateway_infra.queue import JobQueue
from gateway_infra.sealing_keys import SealingKeys
from gateway_infra.storage import Storage

WEBSOCKET_HANDLER = "gateway.handlers.websocket.handler"
TURN_TIMEOUT_SECONDS = 900
"""A turn runs as long as a background response may (Lambda's maximum)."""
TURN_MAX_RECEIVES = 1
"""A turn is not retried: its frames were already sent; a failure is an error frame, then the dead-letter queue."""

# No headers, no message bodies: access logs must never carry keys or prompts.
_ACCESS_LOG_FORMAT = (
    '{"requestId":"$context.requestId","connectionId":"$context.connectionId","eventType":"$context.eventType",'
    '"routeKey":"$context.routeKey","ip":"$context.identity.sourceIp","requestTime":"$context.requestTime",'
    '"status":"$context.status","integrationStatus":"$context.integrationStatus",'
    '"integrationLatency":"$context.integrationLatency","error":$context.error.messageString}'
)


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    """JSON access lines to ``group`` (CDK has no ready-made class for a WebSocket stage's settings)."""

    def __init__(self, group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(_ACCESS_LOG_FORMAT)


class GatewayWebSocket(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        functions: GatewayFunctions,
        storage: Storage,
        jobs: JobQueue,
        provider_keys: ProviderKeys,
        sealing_keys: SealingKeys,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if config.retain_data else RemovalPolicy.DESTROY
        self.dead_letters = dead_letters = sqs.Queue(
            self,
            "TurnDeadLetters",
            fifo=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        self.turns = sqs.Queue(
            self,
            "Turns",
            fifo=True,
            # High-throughput FIFO: order and deduplication per message group (a connection's lane).
            deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP,
            fifo_throughput_limit=sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # Lambda's SQS guidance (6x the consumer's timeout). A turn's frames cannot be taken back, so a turn
            # is never retried: one receive, then the dead-letter queue.
            visibility_timeout=Duration.seconds(6 * TURN_TIMEOUT_SECONDS),
            dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=TURN_MAX_RECEIVES),
        )
        environment = app_environment(
            config,
            table_name=storage.table.table_name,
            queue_url=jobs.queue.queue_url,
            payload_bucket=storage.bucket.bucket_name,
            provider_secret_id=provider_keys.secret.secret_arn,
            sealing_secret_id=sealing_keys.secret.secret_arn,
        )
        log_group = logs.LogGroup(
            self, "FunctionLogs", retention=logs.RetentionDays[config.log_retention], removal_policy=removal
        )
        role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="WebSocket function of the Responses gateway",
        )
        log_group.grant_write(role)
        self.function = lambda_.Function(
            self,
            "Function",
            description="Responses API, WebSocket mode: $connect, $default, $disconnect and the queued turns",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=lambda_.Code.from_asset(str(config.asset_path)),
            handler=WEBSOCKET_HANDLER,
            memory_size=config.api_stream.memory_mb,
            timeout=Duration.seconds(TURN_TIMEOUT_SECONDS),
            environment={**environment, "RESPONSES_WEBSOCKET_QUEUE_URL": self.turns.queue_url},
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=APPLICATION_LOG_LEVELS[config.log_level],
            system_log_level_v2=lambda_.SystemLogLevel.INFO,
            # As every function: instances start from a snapshot of the published version, invoked through
            # its live alias; a replaced version (and its billed snapshot) goes with the deploy.
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS,
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
        )
        Annotations.of(self.function).acknowledge_warning(
            "@aws-cdk/aws-lambda:snapStartRequirePublish", "every deploy publishes a version and moves this alias to it"
        )
        self.live = lambda_.Alias(self, "FunctionLive", alias_name=ALIAS, version=self.function.current_version)
        functions.grant_app_access(self.function, storage=storage, provider_keys=provider_keys)
        sealing_keys.secret.grant_read(self.function)
        self.turns.grant_send_messages(self.function)
        # No concurrency cap: a turn is interactive, as a streamed POST is (api-stream has none either); the
        # event source runs one invocation per active message group, so lanes run side by side.
        self.live.add_event_source(SqsEventSource(self.turns, batch_size=1, report_batch_item_failures=True))

        integration = WebSocketLambdaIntegration("Frames", self.live)
        self.api = apigwv2.WebSocketApi(
            self,
            "Api",
            api_name=f"{config.stack_name}-websocket",
            description="OpenAI Responses API gateway, WebSocket mode",
            connect_route_options=apigwv2.WebSocketRouteOptions(integration=integration),
            default_route_options=apigwv2.WebSocketRouteOptions(integration=integration),
            disconnect_route_options=apigwv2.WebSocketRouteOptions(integration=integration),
        )
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays[config.log_retention], removal_policy=removal
        )
        self.stage = apigwv2.WebSocketStage(
            self,
            "Stage",
            web_socket_api=self.api,
            stage_name=config.name,
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(rate_limit=config.throttle_rate, burst_limit=config.throttle_burst),
            access_log_settings=_AccessLogs(access_logs),
        )
        self.api.grant_manage_connections(self.function)
        self._acknowledge(storage)

    @property
    def url(self) -> str:
        """``wss://<api>.execute-api.<region>.amazonaws.com/<stage>``: what a WebSocket client connects to."""
        return self.stage.url

    def _acknowledge(self, storage: Storage) -> None:
        stack = Stack.of(self)
        api_id = stack.get_logical_id(self.api.node.default_child)  # type: ignore[arg-type]
        acknowledge(
            self.function,
            {
                "AwsSolutions-L1": f"python{PYTHON_VERSION} is chosen on purpose, as for the other functions: "
                "the version the bundle's wheels are resolved for; moving is a change to config.PYTHON_VERSION."
            },
        )
        acknowledge(
            self.function.role,  # type: ignore[arg-type]
            {
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
                f"<{api_id}>/*/*/@connections/*]": "Connection ids are given by API Gateway at run time; the "
                "statement allows posting to and closing connections of this one WebSocket API only.",
            },
        )
        in_app_auth = (
            "Clients are OpenAI SDKs sending 'Authorization: Bearer <key>' on the upgrade. The $connect handler "
            "checks that key as the REST functions do and refuses with 401 and the OpenAI error envelope; later "
            "messages carry the principal kept per connection in DynamoDB."
        )
        acknowledge(self.api, {"AwsSolutions-APIG4": in_app_auth, "AwsSolutions-COG4": in_app_auth})
