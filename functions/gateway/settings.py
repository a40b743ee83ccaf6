"""The one settings class. Read lazily (never at import) so tests and moto can set the environment first."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gateway.domain.limits import Limits, parse_limits

REGION_NAMES = ("AWS_REGION", "AWS_DEFAULT_REGION", "RESPONSES_AWS_REGION")


class Settings(BaseSettings):
    """Every knob of the gateway. Project settings use the ``RESPONSES_`` prefix; standard names keep theirs."""

    model_config = SettingsConfigDict(env_prefix="RESPONSES_", extra="ignore", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then the environment, then the provider secret if one is named (pydantic-settings' own
        order for a secrets source). Naming one makes this block on Secrets Manager: build off the event loop."""
        sources = (init_settings, env_settings, dotenv_settings, file_secret_settings)
        given = init_settings()
        secret_id = given.get("provider_secret_id") or os.environ.get("RESPONSES_PROVIDER_SECRET_ID")
        if not secret_id:
            return sources
        from gateway.provider_secret import ProviderSecretSource

        region = given.get("aws_region") or next(filter(None, map(os.environ.get, REGION_NAMES)), None)
        return (*sources, ProviderSecretSource(settings_cls, secret_id, region=region))

    table_name: str = "responses"
    """DynamoDB table holding responses, items, stream events and API keys."""
    queue_url: str | None = None
    """SQS jobs queue for background responses."""
    payload_bucket: str | None = None
    """S3 bucket for item bodies too large for a 400 KB DynamoDB item."""
    ttl_days: int = Field(default=30, ge=1)
    """How long stored responses are kept."""

    default_provider: str = "openai"
    """Provider for model names without a ``provider/`` prefix."""
    providers_file: Path | None = None
    """Optional JSON file declaring extra named OpenAI-compatible upstreams."""
    openai_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "RESPONSES_OPENAI_API_KEY"), repr=False
    )
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        validation_alias=AliasChoices("OPENAI_BASE_URL", "RESPONSES_OPENAI_BASE_URL"),
    )
    provider_secret_id: str | None = None
    """Secrets Manager secret (a JSON object such as ``{"OPENAI_API_KEY": "sk-..."}``) read when the settings are
    built, once per instance: its names set the settings of the same names, below the environment
    (``gateway.provider_secret``)."""
    provider_secret_values: dict[str, str] = Field(default_factory=dict, repr=False)
    """That secret's whole object, names lower-cased: named upstreams' ``api_key_secret`` picks a value here."""
    sealing_keys: str = Field(default="", repr=False)
    """Master keys sealing ``encrypted_content``, comma-separated, the first sealing (each at least 32 characters
    of randomness, e.g. ``openssl rand -base64 32``). Ignored when ``sealing_secret_id`` is set."""
    sealing_secret_id: str | None = None
    """Secrets Manager secret holding the sealing keys as ``{"keys": "<current>,<previous>,..."}``, read once
    per instance."""
    upstream_connect_timeout: float = Field(default=10.0, gt=0)
    """Seconds to wait for an upstream connection (TCP, TLS and any proxy)."""
    upstream_read_timeout: float = Field(default=600.0, gt=0)
    """Seconds one upstream call may take from sending the request to its last byte."""
    upstream_idle_timeout: float = Field(default=120.0, gt=0)
    """Seconds an upstream may stay silent (before its headers, or between two reads) before the call fails."""
    upstream_ca_bundle: Path | None = None
    """PEM file of the CAs an upstream's certificate is checked against, instead of certifi's bundle (as are
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set)."""
    aws_region: str = Field(
        default="us-east-1",
        validation_alias=AliasChoices(*REGION_NAMES),
    )

    fetch_image_urls: bool = True
    """Fetch http(s) image URLs for providers that need bytes (Bedrock); off means such images are a 400."""
    fetch_max_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    fetch_timeout: float = Field(default=10.0, gt=0)
    drop_unsupported_params: bool = False
    refuse_hosted_tools: bool = False
    """Answer 400 for hosted tools (``web_search`` …) instead of leaving them out and saying so in the
    ``x-responses-omitted-tools`` header."""
    """Silently drop request parameters a provider cannot honour instead of answering 400."""
    max_body_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    """Largest request body accepted, counted after decompression (``Content-Encoding`` zstd, gzip, deflate)."""
    models: str = ""
    """Model names ``GET /v1/models`` lists besides the upstreams' own, comma-separated, as callers name them
    (``bedrock/<id>`` included)."""
    list_upstream_models: bool = True
    """Add each OpenAI-compatible upstream's own ``/models`` listing to ``GET /v1/models``."""

    def listed_models(self) -> list[str]:
        """``RESPONSES_MODELS`` as a list, in the order given, without blanks or repeats."""
        return list(dict.fromkeys(name.strip() for name in self.models.split(",") if name.strip()))

    api_keys: str = ""
    """Static ``tenant:key`` pairs, comma-separated (local runs and tests)."""
    admin_keys: str = ""
    """Static ``tenant:key`` pairs like ``api_keys`` that may also read the Usage API (``/v1/organization/...``)."""
    default_limits: str = ""
    """Limits for keys without their own: ``rpm=60,tpm=200000,tokens_per_day=5000000``, any subset; empty:
    unlimited (``domain/limits.py``)."""
    metrics_namespace: str = "ResponsesGateway"
    """CloudWatch namespace of the metrics the app logs in embedded metric format (``BudgetUsed``)."""
    token_reserve: int = Field(default=4096, ge=1)
    """Output tokens a request without ``max_output_tokens`` reserves against token limits until it settles."""
    require_auth: bool = False
    """Refuse requests without a valid key even when no static keys are set (always true when deployed)."""
    key_cache_seconds: float = Field(default=60.0, ge=0)
    """How long a key looked up in DynamoDB is trusted before it is looked up again."""

    worker_max_receives: int = Field(default=100, ge=2)
    """SQS deliveries of a background job before it goes to the dead-letter queue (the DLQ's
    ``maxReceiveCount``): the last one fails a job that is not running rather than lose it. Waiting for a
    tenant slot, an upstream's ``Retry-After`` or a live run also uses deliveries, hence the headroom."""
    worker_max_failures: int = Field(default=2, ge=1)
    """Runs of a background job that may die or raise before it ends ``failed`` (counted in DynamoDB, so
    duplicate deliveries and waiting do not count)."""
    worker_requeue_seconds: float = Field(default=5.0, gt=0)
    """First delay before a job retries after its run raised or its tenant had no free slot; waiting for a slot
    grows it by as much per delivery, up to a minute."""
    max_running_per_tenant: int = Field(default=4, ge=0)
    """Background jobs of one tenant that may run at once (0: no limit); the others wait in the queue, so one
    tenant cannot take every worker."""
    worker_lease_seconds: float = Field(default=60.0, gt=0)
    """A running job whose heartbeat is older than this is taken over by the next delivery of its message."""
    worker_heartbeat_seconds: float = Field(default=2.0, gt=0)
    """Longest gap between heartbeats (which also check for cancellation) while the upstream is silent."""
    event_flush_seconds: float = Field(default=0.3, gt=0)
    """How often a background run writes its buffered stream events and partial output."""
    stream_poll_seconds: float = Field(default=0.25, gt=0)
    """How often ``GET ?stream=true`` looks for new events of a running background response."""

    keepalive_seconds: float = Field(default=15.0, gt=0)
    """Seconds between SSE keep-alive comments (sse-starlette's ping), which keep proxies and API Gateway's idle
    timeout from closing a stream while the model is silent."""
    websocket_max_seconds: float = Field(default=3600.0, gt=0)
    """Longest life of a WebSocket connection (``GET /v1/responses``): 60 minutes, as OpenAI. At the limit the
    gateway finishes the responses in flight, sends ``websocket_connection_limit_reached`` and closes."""
    websocket_idle_seconds: float = Field(default=600.0, gt=0)
    """A WebSocket connection with nothing in flight and no message for this long is closed (code 1000)."""
    websocket_queue_url: str | None = None
    """Deployed WebSocket API only: the SQS FIFO queue ``$default`` hands each ``response.create`` to (one message
    group per connection and lane), so a turn outlives API Gateway's 29 s integration timeout."""
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("HOST", "RESPONSES_HOST"))
    """Address ``make run`` listens on."""
    port: int = Field(default=8000, validation_alias=AliasChoices("PORT", "RESPONSES_PORT"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] | None = None
    """Lines the gateway writes itself (uvicorn under the web adapter, ``make run``): one JSON object each, or
    readable text. Unset: json on Lambda, text elsewhere."""
    lambda_function_name: str | None = Field(default=None, validation_alias=AliasChoices("AWS_LAMBDA_FUNCTION_NAME"))
    """Set by Lambda in every function: how the gateway knows it runs there."""

    @property
    def json_logs(self) -> bool:
        if self.log_format is not None:
            return self.log_format == "json"
        return self.lambda_function_name is not None

    def static_keys(self) -> dict[str, str]:
        """Parse ``RESPONSES_API_KEYS`` and ``RESPONSES_ADMIN_KEYS`` into ``{key: tenant}``."""
        return {**_pairs(self.api_keys, "RESPONSES_API_KEYS"), **self.admin_key_pairs()}

    def admin_key_pairs(self) -> dict[str, str]:
        return _pairs(self.admin_keys, "RESPONSES_ADMIN_KEYS")

    def limits(self) -> Limits:
        """``RESPONSES_DEFAULT_LIMITS``, parsed (checked at start-up: a typo fails loudly, never unlimited)."""
        return parse_limits(self.default_limits)

    @property
    def auth_enabled(self) -> bool:
        """Whether requests must carry a valid key; a local run with no keys serves one tenant openly."""
        return self.require_auth or bool(self.api_keys.strip()) or bool(self.admin_keys.strip())


def _pairs(text: str, setting: str) -> dict[str, str]:
    """``tenant:key,tenant:key`` into ``{key: tenant}``."""
    keys: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        tenant, sep, key = pair.partition(":")
        if not sep or not tenant or not key:
            raise ValueError(f"{setting} entries must be tenant:key, got {pair!r}")
        keys[key] = tenant
    return keys


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use. With ``RESPONSES_PROVIDER_SECRET_ID`` set the first call
    reads that secret, so it must not run on an event loop: the API builds its services in a thread, the worker
    in its synchronous handler. A failure is not cached: the next call tries again."""
    return Settings()
