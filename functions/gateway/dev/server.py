"""Serve the gateway locally: moto on a free loopback port for DynamoDB (and friends), uvicorn on HOST:PORT."""

from __future__ import annotations

import base64
import logging
import os
import secrets
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.dev.state import LOCAL_CREDENTIALS, LOCAL_KEYS, LocalServer, restore_keys, save_keys
from gateway.logs import configure_logging
from gateway.providers.registry import openai_unconfigured
from gateway.settings import Settings, get_settings

_SERVICES = ("DYNAMODB", "SQS", "S3", "SECRETS_MANAGER")
WORKER_THREADS = 4
"""Background jobs run in parallel locally, like concurrent worker invocations in AWS."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def embedded_aws() -> Iterator[str]:
    """Start moto's server and point boto3 at it through the per-service endpoint variables.

    Only those services: bedrock-runtime must never be sent to moto (it cannot stream Converse).
    """
    from moto.server import ThreadedMotoServer

    # moto's HTTP server logs every AWS call; with the worker threads long-polling SQS that buries the app's log.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for service in _SERVICES:
        os.environ[f"AWS_ENDPOINT_URL_{service}"] = endpoint
    # moto accepts any credentials; placeholders keep boto3 from looking for real ones, unless real ones are named
    # (a profile, or keys): bedrock/ models need them, and placeholder keys would shadow the profile.
    if not (os.environ.get("AWS_PROFILE") or os.environ.get("AWS_ACCESS_KEY_ID")):
        os.environ.update(LOCAL_CREDENTIALS)
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
    try:
        yield endpoint
    finally:
        server.stop()


LOCAL_SEALING_KEY = Path(".local/sealing.key")
"""Made once, then reused: tokens sealed before a restart of ``make run`` (a resumed Codex session) still open."""


def use_local_sealing_key(path: Path = LOCAL_SEALING_KEY) -> str:
    """Point ``RESPONSES_SEALING_KEYS`` at the key in ``path`` (created if missing) unless keys are configured;
    return where the keys come from, for the banner."""
    if os.environ.get("RESPONSES_SEALING_SECRET_ID"):
        return "secret " + os.environ["RESPONSES_SEALING_SECRET_ID"]
    if os.environ.get("RESPONSES_SEALING_KEYS"):
        return "RESPONSES_SEALING_KEYS"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two servers started at once cannot each write a different key.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
    os.environ["RESPONSES_SEALING_KEYS"] = path.read_text().strip()
    return str(path)


JOBS_QUEUE = "responses-jobs"
JOBS_VISIBILITY_SECONDS = 30
"""Shorter than in AWS (6x the worker timeout) so a job left for redelivery is retried while you watch. A running
job renews its message's visibility from its heartbeat, so it is not redelivered while it runs."""


def provision(settings: Settings) -> str:
    """What CDK creates in AWS, created in moto; returns the jobs queue URL."""
    import boto3

    from gateway.dev.worker import provision_queue
    from gateway.store.schema import create_table

    create_table(boto3.client("dynamodb", region_name=settings.aws_region), settings.table_name)
    if settings.payload_bucket:
        boto3.client("s3", region_name=settings.aws_region).create_bucket(Bucket=settings.payload_bucket)
    return provision_queue(
        boto3.client("sqs", region_name=settings.aws_region),
        JOBS_QUEUE,
        max_receives=settings.worker_max_receives,
        visibility_seconds=JOBS_VISIBILITY_SECONDS,
    )


_PROXIES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")


def upstream_unreachable(settings: Settings) -> str | None:
    """Why the ``openai`` upstream would not answer a connection now, or None: checked once at start-up so that
    a stopped Ollama or no network shows in the banner, not only in the first request's 502. Through a proxy the
    direct connection proves nothing, so none is tried."""
    from urllib.parse import urlsplit

    if openai_unconfigured(settings) is not None or any(os.environ.get(name) for name in _PROXIES):
        return None
    address = urlsplit(settings.openai_base_url)
    port = address.port or (443 if address.scheme == "https" else 80)
    try:
        with socket.create_connection((address.hostname or "", port), timeout=1.0):
            return None
    except OSError as exc:
        return f"{address.hostname}:{port} ({exc.strerror or type(exc).__name__})"


def banner(
    settings: Settings,
    aws_endpoint: str,
    sealing: str = "RESPONSES_SEALING_KEYS",
    *,
    kept_keys: int = 0,
    unreachable: str | None = None,
) -> str:
    url = f"http://{settings.host}:{settings.port}"
    openai_key = "set" if settings.openai_api_key else "NOT SET"
    lines = [
        "",
        f"  Responses API gateway  ->  {url}/v1",
        f"  AWS (moto, in-process)      {aws_endpoint}",
        f"  provider 'openai'           {settings.openai_base_url} (OPENAI_API_KEY {openai_key})",
        "  provider 'bedrock'          bedrock/<model id>, region " + settings.aws_region,
        f"  default provider            {settings.default_provider}",
        f"  background jobs             SQS {settings.queue_url} -> {WORKER_THREADS} local worker threads",
        f"  sealing key                 {sealing}",
    ]
    if settings.providers_file:
        lines.append(f"  more providers from         {settings.providers_file}")
    missing = openai_unconfigured(settings)
    if missing is not None:
        lines += [
            "  !!! upstream 'openai' cannot answer: " + missing.split(". ")[0] + ".",
            "      Set OPENAI_API_KEY, or OPENAI_BASE_URL to an OpenAI-compatible server (Ollama:",
            "      http://127.0.0.1:11434/v1), or call a bedrock/<model id> model (AWS credentials needed).",
        ]
    if unreachable is not None:
        lines += [
            f"  !!! upstream 'openai' does not answer at {unreachable}.",
            "      Start it, or set OPENAI_BASE_URL to a server that answers, or call a bedrock/<model id> model.",
        ]
    if settings.auth_enabled:
        lines.append("  auth                        Bearer keys required")
    else:
        lines += [
            "  auth                        !!! OFF: no RESPONSES_API_KEYS set, every caller is tenant 'default',",
            '                              but a key from `make keys ARGS="create --tenant acme"` names its tenant',
        ]
    if kept_keys:
        lines.append(f"  API keys                    {kept_keys} kept from the last run ({LOCAL_KEYS})")
    lines.append("")
    return "\n".join(lines)


@contextmanager
def _announced(local: LocalServer) -> Iterator[int]:
    """``.local/server.json`` while the server runs: how ``make keys`` (another process) finds its table. The
    keys of the last run are put back first (their count is yielded), and this run's are saved at the end."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=local.region)
    restored = restore_keys(dynamodb, local.table)
    local.write()
    try:
        yield restored
    finally:
        local.remove()
        save_keys(dynamodb, local.table)


def main() -> int:
    import boto3
    import uvicorn

    from gateway.dev.worker import worker_loop
    from gateway.handlers.worker import handler

    os.environ.setdefault("RESPONSES_PAYLOAD_BUCKET", "responses-payloads")
    sealing = use_local_sealing_key()
    settings = get_settings()
    # Before the worker threads start: their lines, like the app's, go through the gateway's handler.
    configure_logging(settings)
    with embedded_aws() as endpoint:
        # The app and the worker read the queue URL from settings, as deployed; moto only knows it now.
        os.environ["RESPONSES_QUEUE_URL"] = provision(settings)
        get_settings.cache_clear()
        settings = get_settings()
        assert settings.queue_url is not None
        sqs = boto3.client("sqs", region_name=settings.aws_region)
        url = f"http://{settings.host}:{settings.port}/v1"
        with (
            worker_loop(sqs, settings.queue_url, handler, region=settings.aws_region, consumers=WORKER_THREADS),
            _announced(LocalServer(os.getpid(), url, endpoint, settings.aws_region, settings.table_name)) as kept,
        ):
            problem = upstream_unreachable(settings)
            sys.stdout.write(banner(settings, endpoint, sealing, kept_keys=kept, unreachable=problem) + "\n")
            sys.stdout.flush()
            # uvicorn handles Ctrl-C and returns; the worker threads then stop after their current long poll.
            uvicorn.run(
                "gateway.api.app:create_app",
                factory=True,
                host=settings.host,
                port=settings.port,
                log_level=settings.log_level.lower(),
                access_log=False,
            )
    return 0
