"""Serve the gateway locally: moto on a free loopback port for DynamoDB (and friends), uvicorn on HOST:PORT."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.settings import Settings, get_settings

_SERVICES = ("DYNAMODB", "SQS", "S3", "SECRETS_MANAGER")


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

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for service in _SERVICES:
        os.environ[f"AWS_ENDPOINT_URL_{service}"] = endpoint
    # moto accepts any credentials; these keep boto3 from looking for real ones.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("AWS_REGION", "us-east-1"))
    try:
        yield endpoint
    finally:
        server.stop()


def provision(settings: Settings) -> None:
    """What CDK creates in AWS, created in moto."""
    import boto3

    from gateway.store.schema import create_table

    create_table(boto3.client("dynamodb", region_name=settings.aws_region), settings.table_name)
    if settings.payload_bucket:
        boto3.client("s3", region_name=settings.aws_region).create_bucket(Bucket=settings.payload_bucket)


def banner(settings: Settings, aws_endpoint: str) -> str:
    url = f"http://{settings.host}:{settings.port}"
    openai_key = "set" if settings.openai_api_key else "NOT SET"
    lines = [
        "",
        f"  Responses API gateway  ->  {url}/v1",
        f"  AWS (moto, in-process)      {aws_endpoint}",
        f"  provider 'openai'           {settings.openai_base_url} (OPENAI_API_KEY {openai_key})",
        "  provider 'bedrock'          bedrock/<model id>, region " + settings.aws_region,
        f"  default provider            {settings.default_provider}",
    ]
    if settings.providers_file:
        lines.append(f"  more providers from         {settings.providers_file}")
    if settings.auth_enabled:
        lines.append("  auth                        Bearer keys required")
    else:
        lines.append(
            "  auth                        !!! OFF: no RESPONSES_API_KEYS set, every caller is tenant 'default'"
        )
    lines.append("")
    return "\n".join(lines)


def main() -> int:
    import uvicorn

    os.environ.setdefault("RESPONSES_PAYLOAD_BUCKET", "responses-payloads")
    settings = get_settings()
    with embedded_aws() as endpoint:
        provision(settings)
        sys.stdout.write(banner(settings, endpoint) + "\n")
        sys.stdout.flush()
        uvicorn.run(
            "gateway.api.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
    return 0
