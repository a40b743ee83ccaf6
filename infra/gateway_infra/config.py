"""Stage settings: everything that differs between dev and prod, in one place.

Plain frozen dataclasses with no CDK import, so the bundle and invoke tools read them without loading ``aws_cdk``
(over a second to import).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parents[2]

PYTHON_VERSION = "3.13"
"""The Lambda runtime (``python3.13``: Amazon Linux 2023, deprecated 2029-06-30; SnapStart needs 3.12 or later)
and the version the bundle's wheels are resolved for. The code and the tests stay on the project's
``requires-python`` floor (3.11, what CI runs); the bundle ships no bytecode, so nothing in it is tied to the
build machine's Python (``tools/bundle.py``)."""

LWA_LAYER_VERSION = 30
"""AWS Lambda Web Adapter layer version: 30 is adapter v1.1.0 (27 was the 1.0.0 GA), the first to relay
SnapStart's before-snapshot and after-restore hooks to the app over HTTP (aws/aws-lambda-web-adapter #837, #871;
layer 29 was withdrawn)."""

LWA_LAYER_ACCOUNTS = {"aws": "753240598075"}
"""Who publishes the adapter's layers, by partition (the ARN takes the deployment's partition and region). The
adapter's docs list the ``aws-cn`` regions with an x86_64 layer only (a publishing account per region) and nothing
for GovCloud, so an arm64 function there has no layer to use: the template's mapping has no entry for those
partitions and the deploy stops on it, naming the mapping."""

STREAM_PORT = 8000
"""Port uvicorn listens on inside the api-stream function; the adapter forwards requests to it."""

MAX_RECEIVES = 100
"""Deliveries of one background job before SQS moves it to the dead-letter queue. Failed runs are counted by the
worker in DynamoDB (``RESPONSES_WORKER_MAX_FAILURES``); deliveries also go on waiting for a tenant slot, for an
upstream's ``Retry-After`` and, rarely, for a live run, hence the headroom."""

STREAM_TIMEOUT_SECONDS = 900
"""API Gateway STREAM integrations may run 15 minutes; the api-stream function gets the same ceiling."""

BUFFERED_TIMEOUT_SECONDS = 29
"""API Gateway's default (and, without a quota request, maximum) buffered integration timeout; the api function
stops with it, since nothing it computes later can reach the client."""

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
Retention = Literal["ONE_WEEK", "TWO_WEEKS", "ONE_MONTH", "THREE_MONTHS", "SIX_MONTHS", "ONE_YEAR"]


@dataclass(frozen=True)
class FunctionSize:
    """Memory and timeout of one Lambda function."""

    memory_mb: int
    timeout_seconds: int


@dataclass(frozen=True)
class StageConfig:
    """One deployable stage. ``retain_data`` is the single switch between disposable and kept resources."""

    name: str
    api_stream: FunctionSize
    api: FunctionSize
    worker: FunctionSize
    worker_max_concurrency: int
    """Parallel worker invocations the SQS event source may start (2-1000): caps concurrent upstream calls."""
    max_running_per_tenant: int
    """Background jobs of one tenant that may run at once: below ``worker_max_concurrency``, so one tenant's
    stalled jobs leave workers for the others."""
    log_level: LogLevel
    log_retention: Retention
    ttl_days: int
    """Days a stored response lives; the payload bucket's lifecycle follows it."""
    retain_data: bool
    """Keep the table, bucket, secret and logs when the stack is deleted (and protect the table)."""
    throttle_rate: float
    """Stage-wide steady requests per second: a backstop, not per-tenant limits."""
    throttle_burst: int
    worker_reserved_concurrency: int | None = None
    """Executions reserved for the worker, off by default in every stage: Lambda accepts a reservation only if it
    leaves at least 100 executions unreserved, so reserving N needs an account concurrency quota of N + 100 or
    more, and new accounts start far below that (10). ``worker_max_concurrency`` caps the worker without
    reserving anything. Deploy with ``-c workerReservedConcurrency=N`` (``make deploy WORKER_RESERVED=N``) to
    also guarantee the worker N executions."""
    default_provider: str = "openai"
    asset_path: Path = REPO_ROOT / "build" / "lambda.zip"
    """The Lambda bundle (zip or directory) shared by all three functions; tests point it at a small folder."""

    def __post_init__(self) -> None:
        reserved = self.worker_reserved_concurrency
        if reserved is not None and reserved < self.worker_max_concurrency:
            raise ValueError(
                f"worker reserved concurrency {reserved} is below the SQS trigger's maximum concurrency "
                f"{self.worker_max_concurrency}: the trigger would be throttled; reserve at least that many"
            )

    @property
    def stack_name(self) -> str:
        return f"responses-gateway-{self.name}"

    @property
    def queue_visibility_seconds(self) -> int:
        """Lambda's SQS guidance: at least six times the consumer's timeout, so a slow job is not redelivered."""
        return 6 * self.worker.timeout_seconds


DEV = StageConfig(
    name="dev",
    api_stream=FunctionSize(memory_mb=1024, timeout_seconds=STREAM_TIMEOUT_SECONDS),
    api=FunctionSize(memory_mb=512, timeout_seconds=BUFFERED_TIMEOUT_SECONDS),
    worker=FunctionSize(memory_mb=1024, timeout_seconds=900),
    worker_max_concurrency=2,
    max_running_per_tenant=1,
    log_level="DEBUG",
    log_retention="ONE_WEEK",
    ttl_days=30,
    retain_data=False,
    throttle_rate=20,
    throttle_burst=40,
)

PROD = StageConfig(
    name="prod",
    api_stream=FunctionSize(memory_mb=1024, timeout_seconds=STREAM_TIMEOUT_SECONDS),
    api=FunctionSize(memory_mb=1024, timeout_seconds=BUFFERED_TIMEOUT_SECONDS),
    worker=FunctionSize(memory_mb=1024, timeout_seconds=900),
    worker_max_concurrency=20,
    max_running_per_tenant=5,
    log_level="INFO",
    log_retention="THREE_MONTHS",
    ttl_days=30,
    retain_data=True,
    throttle_rate=200,
    throttle_burst=400,
)


def app_environment(
    config: StageConfig,
    *,
    table_name: str,
    queue_url: str,
    payload_bucket: str,
    provider_secret_id: str,
    sealing_secret_id: str,
) -> dict[str, str]:
    """The ``RESPONSES_*`` variables every function gets (and ``make invoke`` sets against moto).

    The one place the deployed env contract is written; each name is a field of ``gateway.settings.Settings``,
    which the infrastructure tests check.
    """
    return {
        "RESPONSES_TABLE_NAME": table_name,
        "RESPONSES_QUEUE_URL": queue_url,
        "RESPONSES_PAYLOAD_BUCKET": payload_bucket,
        "RESPONSES_PROVIDER_SECRET_ID": provider_secret_id,
        "RESPONSES_SEALING_SECRET_ID": sealing_secret_id,
        "RESPONSES_TTL_DAYS": str(config.ttl_days),
        # The worker spends the last delivery on failing the job, so it must know where SQS stops.
        "RESPONSES_WORKER_MAX_RECEIVES": str(MAX_RECEIVES),
        "RESPONSES_MAX_RUNNING_PER_TENANT": str(config.max_running_per_tenant),
        "RESPONSES_REQUIRE_AUTH": "true",
        "RESPONSES_LOG_LEVEL": config.log_level,
        "RESPONSES_DEFAULT_PROVIDER": config.default_provider,
        "RESPONSES_METRICS_NAMESPACE": metrics_namespace(config),
    }


def metrics_namespace(config: StageConfig) -> str:
    """Where the app's own metrics go (``BudgetUsed``), one namespace per stage so their alarms stay apart."""
    return f"ResponsesGateway/{config.stack_name}"


STAGES = {stage.name: stage for stage in (DEV, PROD)}


def stage_config(name: str) -> StageConfig:
    """The settings of the stage called ``name``; an unknown name fails fast listing the valid ones."""
    try:
        return STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; expected one of {sorted(STAGES)}") from None
