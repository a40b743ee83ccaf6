"""The three functions, all from one code asset and one settings class.

- ``api-stream``: uvicorn under the Lambda Web Adapter in ``response_stream`` mode, for the STREAM methods;
- ``api``: the same FastAPI app through Mangum, for every buffered method;
- ``worker``: the SQS consumer running background responses.

Each runs with SnapStart: Lambda initializes a published version once, snapshots it, and starts new instances
from the snapshot. SnapStart applies to published versions only, so API Gateway and the SQS trigger invoke each
function's ``live`` alias, which CloudFormation moves to the new version on every deploy.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import Annotations, CfnElement, CfnMapping, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.aws_lambda_event_sources import SqsEventSource
from constructs import Construct

from gateway_infra.config import (
    LWA_LAYER_ACCOUNTS,
    LWA_LAYER_VERSION,
    PYTHON_VERSION,
    STREAM_PORT,
    FunctionSize,
    StageConfig,
    app_environment,
)
from gateway_infra.nag import acknowledge
from gateway_infra.provider_keys import ProviderKeys
from gateway_infra.queue import JobQueue
from gateway_infra.sealing_keys import SealingKeys
from gateway_infra.storage import Storage

STREAM_HANDLER = "gateway/handlers/run.sh"
API_HANDLER = "gateway.handlers.api.handler"
WORKER_HANDLER = "gateway.handlers.worker.handler"
RUNTIME = lambda_.Runtime(f"python{PYTHON_VERSION}", lambda_.RuntimeFamily.PYTHON, supports_snap_start=True)
ALIAS = "live"
AFTER_RESTORE_PATH = "/_lwa/snapstart/after-restore"
"""Where the web adapter tells the app it was restored from a snapshot (``gateway/snapstart.py``). The adapter
answers 403 to this path for anything but its own call, and API Gateway routes nothing outside /v1 and /health to
the streaming function."""

# The adapter's /opt/bootstrap execs $LAMBDA_TASK_ROOT/$_HANDLER (run.sh), then relays each event to uvicorn.
# PORT is what run.sh reads; AWS_LWA_PORT is the adapter's own name (PORT is deprecated for it).
WEB_ADAPTER_ENVIRONMENT = {
    "AWS_LAMBDA_EXEC_WRAPPER": "/opt/bootstrap",
    "AWS_LWA_INVOKE_MODE": "response_stream",
    "AWS_LWA_PORT": str(STREAM_PORT),
    "PORT": str(STREAM_PORT),
    "AWS_LWA_READINESS_CHECK_PATH": "/health",
    "AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH": AFTER_RESTORE_PATH,
}

APPLICATION_LOG_LEVELS = {
    "DEBUG": lambda_.ApplicationLogLevel.DEBUG,
    "INFO": lambda_.ApplicationLogLevel.INFO,
    "WARNING": lambda_.ApplicationLogLevel.WARN,
    "ERROR": lambda_.ApplicationLogLevel.ERROR,
}
"""The stage's ``RESPONSES_LOG_LEVEL`` in Lambda's names for its application log-level filter."""

_BEDROCK_INVOKE = [
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
    # POST /v1/responses/input_tokens asks Bedrock to count a Converse request.
    "bedrock:CountTokens",
]
_ACCOUNT_MODEL_KINDS = ("inference-profile", "application-inference-profile", "provisioned-model", "imported-model")
"""Bedrock resources of this account in this region a client may name by ARN (README, "Amazon Bedrock"):
cross-region inference profiles, application inference profiles, provisioned throughput and imported models."""
_IN_ACCOUNT = "arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>"
_ANY_MODEL = (
    "Clients choose the Bedrock model per request ('bedrock/<model id, inference profile or ARN>'), so the set is "
    "not known at deploy time. The statement allows only the invoke and count-tokens actions, on foundation "
    "models in any region (where cross-region and global inference profiles route) and on this account's "
    "inference profiles, application inference profiles, provisioned and imported models in this region."
)


class GatewayFunctions(Construct):
    """Creates the functions, their log groups and least-privilege roles, and the worker's SQS trigger."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        storage: Storage,
        jobs: JobQueue,
        provider_keys: ProviderKeys,
        sealing_keys: SealingKeys,
    ) -> None:
        super().__init__(scope, construct_id)
        if not config.asset_path.exists():
            raise FileNotFoundError(f"Lambda bundle {config.asset_path} not found: run `make bundle` first")
        self._config = config
        self._code = lambda_.Code.from_asset(str(config.asset_path))
        self._environment = app_environment(
            config,
            table_name=storage.table.table_name,
            queue_url=jobs.queue.queue_url,
            payload_bucket=storage.bucket.bucket_name,
            provider_secret_id=provider_keys.secret.secret_arn,
            sealing_secret_id=sealing_keys.secret.secret_arn,
        )
        web_adapter = lambda_.LayerVersion.from_layer_version_arn(self, "WebAdapter", self._web_adapter_arn())

        self.api_stream = self._function(
            "ApiStream",
            description="Responses API, streaming routes: uvicorn under the Lambda Web Adapter",
            handler=STREAM_HANDLER,
            size=config.api_stream,
            extra_environment=WEB_ADAPTER_ENVIRONMENT,
            layers=[web_adapter],
        )
        self.api = self._function(
            "Api",
            description="Responses API, buffered routes: the same app through Mangum",
            handler=API_HANDLER,
            size=config.api,
        )
        self.worker = self._function(
            "Worker",
            description="Responses API, background responses from the SQS jobs queue",
            handler=WORKER_HANDLER,
            size=config.worker,
            reserved_concurrent_executions=config.worker_reserved_concurrency,
        )
        self.api_stream_live, self.api_live, self.worker_live = (self._alias(function) for function in self.all)
        self.worker_live.add_event_source(
            SqsEventSource(
                jobs.queue,
                batch_size=1,
                report_batch_item_failures=True,
                max_concurrency=config.worker_max_concurrency,
            )
        )

        # Every function runs the same app, and any route may reach a provider (creating, counting input
        # tokens, running a background job), so all three get the app's data and provider access, and the sealing
        # keys (any of them may open encrypted_content from input or seal it into output). Only the streaming
        # function creates responses, so only it may enqueue background jobs.
        for function in self.all:
            self.grant_app_access(function, storage=storage, provider_keys=provider_keys)
            sealing_keys.secret.grant_read(function)
        jobs.queue.grant_send_messages(self.api_stream)
        # The worker hides a job's message while the job runs or waits (its receipt handle, from the event).
        jobs.queue.grant(self.worker, "sqs:ChangeMessageVisibility")

    @property
    def all(self) -> tuple[lambda_.Function, ...]:
        return (self.api_stream, self.api, self.worker)

    def _web_adapter_arn(self) -> str:
        """The adapter's arm64 layer in the deployment's partition and region. The publishing account comes from
        a mapping keyed by partition, so a deploy where none is listed fails on the mapping, naming it."""
        stack = Stack.of(self)
        accounts = CfnMapping(
            self,
            "WebAdapterPublisher",
            mapping={partition: {"account": a} for partition, a in LWA_LAYER_ACCOUNTS.items()},
        )
        account = accounts.find_in_map(stack.partition, "account")
        return (
            f"arn:{stack.partition}:lambda:{stack.region}:{account}:layer:LambdaAdapterLayerArm64:{LWA_LAYER_VERSION}"
        )

    def _alias(self, function: lambda_.Function) -> lambda_.Alias:
        """The ``live`` alias on the function's current published version: what SnapStart snapshots and what
        every caller invokes (the unpublished ``$LATEST`` never runs from a snapshot)."""
        Annotations.of(function).acknowledge_warning(
            "@aws-cdk/aws-lambda:snapStartRequirePublish", "every deploy publishes a version and moves this alias to it"
        )
        return lambda_.Alias(self, f"{function.node.id}Live", alias_name=ALIAS, version=function.current_version)

    def _function(
        self,
        construct_id: str,
        *,
        description: str,
        handler: str,
        size: FunctionSize,
        extra_environment: dict[str, str] | None = None,
        layers: list[lambda_.ILayerVersion] | None = None,
        reserved_concurrent_executions: int | None = None,
    ) -> lambda_.Function:
        removal = RemovalPolicy.RETAIN if self._config.retain_data else RemovalPolicy.DESTROY
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            retention=logs.RetentionDays[self._config.log_retention],
            removal_policy=removal,
        )
        # An explicit role instead of CDK's default one, which attaches the AWS managed
        # AWSLambdaBasicExecutionRole (logs on every log group in the account): this role may write only to
        # its own function's log group.
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{construct_id} function of the Responses gateway",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            construct_id,
            description=description,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=self._code,
            handler=handler,
            memory_size=size.memory_mb,
            timeout=Duration.seconds(size.timeout_seconds),
            environment={**self._environment, **(extra_environment or {})},
            layers=layers,
            role=role,
            log_group=log_group,
            # JSON: Lambda's Python runtime (api, worker) writes each record as JSON with its fields, and the
            # app under the web adapter writes its own JSON lines (gateway/logs.py), so one query language
            # (CloudWatch Logs Insights) reads all three; Lambda drops lines below the stage's level.
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=APPLICATION_LOG_LEVELS[self._config.log_level],
            system_log_level_v2=lambda_.SystemLogLevel.INFO,  # START/END/REPORT: duration, memory, init time
            reserved_concurrent_executions=reserved_concurrent_executions,
            # Init (imports, the app) runs once per published version; instances start from its snapshot.
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS,
            # Each active version's snapshot is billed while cached: a deploy deletes the version it replaces
            # (after the alias has moved) instead of CDK's default of keeping every version forever.
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.DESTROY),
        )
        acknowledge(
            function,
            {
                "AwsSolutions-L1": f"python{PYTHON_VERSION} is chosen on purpose: supported until 2029-06-30, "
                "SnapStart-capable, and the version the bundle's wheels are resolved for; moving to a "
                "newer runtime is a change to config.PYTHON_VERSION and a rebuilt bundle."
            },
        )
        return function

    def grant_app_access(self, function: lambda_.Function, *, storage: Storage, provider_keys: ProviderKeys) -> None:
        storage.table.grant_read_write_data(function)
        # Objects, and listing under one prefix: the app never configures the bucket, so CDK's broader
        # grant_read_write (s3:List*, s3:GetBucket*, ...) is not used.
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                resources=[storage.bucket.arn_for_objects("*")],
            )
        )
        # Listing only response payloads: deleting a response removes every version of its payload by prefix.
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[storage.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["responses/*"]}},
            )
        )
        provider_keys.secret.grant_read(function)
        stack = Stack.of(self)
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=_BEDROCK_INVOKE,
                resources=[
                    # Cross-region (and global) inference profiles route to foundation models in other regions.
                    f"arn:{stack.partition}:bedrock:*::foundation-model/*",
                    *(
                        f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:{kind}/*"
                        for kind in _ACCOUNT_MODEL_KINDS
                    ),
                ],
            )
        )
        bucket_id = stack.get_logical_id(cast(CfnElement, storage.bucket.node.default_child))
        acknowledge(
            cast(iam.IRole, function.role),  # always set: _function passes its own role
            {
                f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/*]": "Object keys are response and item ids "
                "generated at run time; access is limited to get/put/delete of objects in this one bucket.",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:bedrock:*::foundation-model/*]": _ANY_MODEL,
                **{f"AwsSolutions-IAM5[Resource::{_IN_ACCOUNT}:{kind}/*]": _ANY_MODEL for kind in _ACCOUNT_MODEL_KINDS},
            },
        )
