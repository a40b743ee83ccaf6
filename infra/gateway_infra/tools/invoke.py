"""``make invoke EVENT=events/<name>.json``: an event through the real handler, against in-process moto.

API Gateway REST proxy events go to the Mangum handler, SQS events to the worker handler. moto holds what the
stack creates (table, jobs queue, payload bucket, an empty provider-keys secret, a sealing-keys secret) and the
process gets the deployed functions' environment, plus a static API key matching the events' ``Authorization``
header. Nothing else is faked: a create reaches whatever upstream ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` (or
Bedrock) names.

moto starts empty, so an event about a response first gets one to act on: the tool sends the create event
(``background`` for a cancel, or when the upstream cannot answer) and rewrites the event's id to the new
response's. The SQS event carries the job that create queued, and is followed by a retrieve of the response the
worker ran. Each step is told on stderr; the last handler result is printed on stdout, its JSON body decoded.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import secrets
import sys
from pathlib import Path
from typing import Any, TextIO

from gateway_infra.config import DEV, REPO_ROOT, app_environment

EVENT_API_KEY = "sk-local-events"
"""The bearer key in events/*.json; only ever valid against moto."""
_REGION = "us-east-1"
API = "gateway.handlers.api"
WORKER = "gateway.handlers.worker"
CREATE_EVENT = REPO_ROOT / "events" / "http-create-response.json"
RETRIEVE_EVENT = REPO_ROOT / "events" / "http-retrieve-response.json"

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
        return WORKER
    if "httpMethod" in event and "requestContext" in event:
        return API
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


class Session:
    """Handlers invoked one after another in one moto account, each step told on ``said``."""

    def __init__(self, said: TextIO) -> None:
        self._said = said

    def tell(self, text: str) -> None:
        self._said.write(f"make invoke: {text}\n")

    def call(self, event: Event, why: str) -> Any:
        module = handler_module(event)
        handler = importlib.import_module(module).handler
        result = handler(event, LambdaContext())
        if module == API:
            body = _readable(result).get("body")
            self.tell(f"{event['httpMethod']} {event['path']} ({why}) -> {result.get('statusCode')}{_summary(body)}")
        else:
            redelivered = len(result.get("batchItemFailures", []))
            self.tell(f"worker handler ({why}) -> {redelivered} record(s) left for SQS to redeliver")
        return result

    def create(self, *, background: bool) -> tuple[str, bool]:
        """A response to act on, and whether it is a background one: the create event's, in the background if
        asked or if the upstream fails."""
        event = _with_body(_load(CREATE_EVENT), background=background)
        kind = "a background response" if background else "a response"
        result = _readable(self.call(event, f"{kind} for the event to act on"))
        if result.get("statusCode") == 200:
            return str(result["body"]["id"]), background
        if background:
            raise SystemExit("make invoke: the create failed, so there is no response for the event to act on")
        self.tell("the upstream did not answer: a background response instead, which needs none until it runs")
        return self.create(background=True)

    def close(self) -> None:
        """Close the handlers' upstream clients, as Lambda's freeze never does but a process exit must."""
        import asyncio

        api = sys.modules.get(API)
        services = api.handler.app.state.services if api is not None else None
        if services is not None:
            asyncio.get_event_loop().run_until_complete(services.providers.aclose())
        worker = sys.modules.get(WORKER)
        if worker is not None:
            worker.reset()

    def job(self, event: Event, response_id: str) -> Event:
        """The SQS event, carrying the message the background create really queued."""
        import boto3

        sqs = boto3.client("sqs", region_name=_REGION)
        [message] = sqs.receive_message(QueueUrl=os.environ["RESPONSES_QUEUE_URL"], MaxNumberOfMessages=1)["Messages"]
        self.tell(f"the jobs queue holds {message['Body']}: into the event's record")
        record = {
            **event["Records"][0],
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "md5OfBody": message["MD5OfBody"],
        }
        assert response_id in record["body"]
        return {**event, "Records": [record]}


def run(event: Event, said: TextIO) -> Any:
    """Run ``event`` through its real handler inside a fresh moto account, after what it needs to act on."""
    from moto import mock_aws

    _isolate_from_real_aws()
    with mock_aws():
        os.environ.update(provision())
        os.environ["RESPONSES_API_KEYS"] = f"default:{EVENT_API_KEY}"
        session = Session(said)
        try:
            return _steps(session, event)
        finally:
            session.close()


def _steps(session: Session, event: Event) -> Any:
    if handler_module(event) == WORKER:
        response_id, _ = session.create(background=True)
        session.call(session.job(event, response_id), "the job the background create queued")
        return session.call(_about(_load(RETRIEVE_EVENT), response_id), "the response the worker ran")
    about = (event.get("pathParameters") or {}).get("id")
    if isinstance(about, str) and about.startswith("resp_"):
        cancel = event["path"].endswith("/cancel")
        response_id, background = session.create(background=cancel)
        event = _about(event, response_id, was=about)
        if background and not cancel and event["httpMethod"] == "DELETE":
            cancelling = {**event, "httpMethod": "POST", "path": event["path"] + "/cancel"}
            session.call(cancelling, "first: a queued response cannot be deleted, a cancelled one can")
    return session.call(event, "the event")


def _load(path: Path) -> Event:
    event: Event = json.loads(path.read_text())
    return event


def _about(event: Event, response_id: str, was: str | None = None) -> Event:
    """The event rewritten to be about ``response_id`` (its path, path parameters and request context)."""
    was = was or event["pathParameters"]["id"]
    rewritten: Event = json.loads(json.dumps(event).replace(was, response_id))
    return rewritten


def _with_body(event: Event, *, background: bool) -> Event:
    body = json.loads(event["body"])
    if background:
        body["background"] = True
    text = json.dumps(body)
    headers = {**event["headers"], "Content-Length": str(len(text.encode()))}
    multi = {**event.get("multiValueHeaders", {}), "Content-Length": [headers["Content-Length"]]}
    return {**event, "body": text, "headers": headers, "multiValueHeaders": multi}


def _summary(body: Any) -> str:
    """A reply's gist: the response's id and status (and why it failed), or the error's message."""
    if not isinstance(body, dict):
        return ""
    error = body.get("error") if isinstance(body.get("error"), dict) else None
    if body.get("object") == "response":
        state = "deleted" if body.get("deleted") else body.get("status")
        return f", {body.get('id')} {state}" + (f": {error.get('message')}" if error else "")
    return f", {error.get('message')}" if error else ""


def _readable(result: Any) -> Any:
    """The handler's result with a JSON ``body`` decoded, so the output reads as the client would see it."""
    if isinstance(result, dict) and isinstance(result.get("body"), str):
        try:
            return {**result, "body": json.loads(result["body"])}
        except ValueError:
            return result
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make invoke", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("event", type=Path, help="an event file, e.g. events/http-create-response.json")
    event = _load(parser.parse_args(argv).event)
    sys.stdout.write(json.dumps(_readable(run(event, sys.stderr)), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
