"""``make invoke EVENT=events/<name>.json``: one event through the real handler, against in-process moto.

API Gateway REST proxy events go to the Mangum handler, SQS events to the worker handler. moto holds what the
stack creates (table, jobs queue, payload bucket, an empty provider-keys secret, a sealing-keys secret) and the
process gets the deployed functions' environment, plus a static API key matching the events' ``Authorization``
header. Nothing else is faked: a create reaches whatever upstream ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` (or
Bedrock) names.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any

from gateway_infra.config import DEV, app_environment

EVENT_API_KEY = "sk-local-events"
"""The bearer key in events/*.json; only ever valid against moto."""
_REGION = "us-east-1"

Event = dict[str, Any]


class LambdaContext:
    """The attributes handlers and their libraries read from Lambda's context object."""

    function_name = "responses-gateway-local"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{_REGION}:123456789012:function:responses-gateway-local"
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    log_group_name = "/aws/lambda/responses-gateway-local"
    log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def handler_module(event: Event) -> str:
    """The module whose ``handler`` takes this event, judged by its shape as Lambda's event sources send it."""
    records = event.get("Records")
    if isinstance(records, list) and records and all(r.get("eventSource") == "aws:sqs" for r in records):
        return "gateway.handlers.worker"
    if "httpMethod" in event and "requestContext" in event:
        return "gateway.handlers.api"
    raise SystemExit("not an API Gateway REST proxy event nor an SQS event")


def _isolate_from_real_aws() -> None:
    for name in list(os.environ):
        if name.startswith(("AWS_", "RESPONSES_")):
            del os.environ[name]
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=_REGION)
    os.environ["AWS_DEFAULT_REGION"] = _REGION


def provision() -> dict[str, str]:
    """Create the stack's resources in moto; return the environment the deployed functions would get."""
    import boto3

    from gateway.store.schema import create_table

    table = "responses-local"
    create_table(boto3.client("dynamodb", region_name=_REGION), table)
    queue_url = boto3.client("sqs", region_name=_REGION).create_queue(QueueName="responses-jobs")["QueueUrl"]
    boto3.client("s3", region_name=_REGION).create_bucket(Bucket="responses-payloads")
    secretsmanager = boto3.client("secretsmanager", region_name=_REGION)
    secret = secretsmanager.create_secret(Name="responses-provider-keys", SecretString="{}")
    sealing = secretsmanager.create_secret(
        Name="responses-sealing-keys", SecretString=json.dumps({"keys": secrets.token_urlsafe(48)})
    )
    return app_environment(
        DEV,
        table_name=table,
        queue_url=queue_url,
        payload_bucket="responses-payloads",
        provider_secret_id=secret["ARN"],
        sealing_secret_id=sealing["ARN"],
    )


def invoke(event: Event) -> Any:
    """Run ``event`` through its real handler inside a fresh moto account."""
    from moto import mock_aws

    _isolate_from_real_aws()
    with mock_aws():
        os.environ.update(provision())
        os.environ["RESPONSES_API_KEYS"] = f"default:{EVENT_API_KEY}"
        module = handler_module(event)
        try:
            handler = importlib.import_module(module).handler
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            raise SystemExit(f"{module} does not exist yet: no handler for this event") from exc
        return handler(event, LambdaContext())


def _readable(result: Any) -> Any:
    """The handler's result with a JSON ``body`` decoded, so the output reads as the client would see it."""
    if isinstance(result, dict) and isinstance(result.get("body"), str):
        try:
            return {**result, "body": json.loads(result["body"])}
        except ValueError:
            return result
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make invoke", description=__doc__.splitlines()[0])
    parser.add_argument("event", type=Path, help="an event file, e.g. events/create.json")
    event = json.loads(parser.parse_args(argv).event.read_text())
    sys.stdout.write(json.dumps(_readable(invoke(event)), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
