"""Stage settings: everything that differs between dev and prod, in one place.

Plain frozen dataclasses with no CDK import, so the bundle and invoke tools read them without loading ``aws_cdk``
(over a second to import).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parents[2]

PYTHON_VERSION = "3.11"
"""The Lambda runtime (``python3.11``), the version the bundle's wheels are resolved for, and the version the tests
run on: one value. It must also be the build machine's Python, because the bundle ships bytecode compiled by it
(Lambda cannot write ``__pycache__``, so a bundle without bytecode compiles every module on every cold start,
about 3x slower)."""

LWA_LAYER_VERSION = 26
"""AWS Lambda Web Adapter layer (``LambdaAdapterLayerArm64``) version; see the adapter's README for newer ones."""

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
    worker_reserved_concurrency: int | None
    max_running_per_tenant: int
    """Background jobs of one tenant that may run at once: below ``worker_max_concurrency``, so one tenant's
    stalled jobs leave workers for the others."""
    """Reserved concurrency for the worker. None in dev: new accounts often have a 10-execution quota, and
    Lambda refuses any reservation that leaves fewer than 10 unreserved."""
    log_level: LogLevel
    log_retention: Retention
    ttl_days: int
    """Days a stored response lives; the payload bucket's lifecycle follows it."""
    retain_data: bool
    """Keep the table, bucket, secret and logs when the stack is deleted (and protect the table)."""
    throttle_rate: float
    """Stage-wide steady requests per second: a backstop, not per-tenant limits."""
    throttle_burst: int
    default_provider: str = "openai"
    asset_path: Path = REPO_ROOT / "build" / "lambda.zip"
    """The Lambda bundle (zip or directory) shared by all three functions; tests point it at a small folder."""

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
    worker_reserved_concurrency=None,
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
    worker_reserved_concurrency=20,
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
    }


STAGES = {stage.name: stage for stage in (DEV, PROD)}


def stage_config(name: str) -> StageConfig:
    """The settings of the stage called ``name``; an unknown name fails fast listing the valid ones."""
    try:
        return STAGES[name]
    except KeyError:
        raise ValueError(f"unknown stage {name!r}; expected one of {sorted(STAGES)}") from None
