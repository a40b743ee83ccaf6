"""Events as Lambda's event sources send them: API Gateway REST proxy (v1) events and SQS batches."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tests.deploy.template import ACCOUNT, REGION, Route

Json = dict[str, Any]
API_ID = "dryrun0001"
HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"


def rest_event(
    route: Route,
    path_parameters: dict[str, str],
    method: str,
    path: str,
    *,
    stage: str,
    headers: dict[str, str],
    body: Json | None = None,
    query: dict[str, str] | None = None,
) -> Json:
    """The proxy event a REST API sends for one request on ``route`` (the method's resource)."""
    text = None if body is None else json.dumps(body)
    sent = {
        "Host": HOST,
        "User-Agent": "OpenAI/Python 2.8.0",
        "X-Amzn-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
        "X-Forwarded-For": "203.0.113.24",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
        **({"Content-Type": "application/json", "Content-Length": str(len(text.encode()))} if text else {}),
        **headers,
    }
    request_id = str(uuid.uuid4())
    return {
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": sent,
        "multiValueHeaders": {name: [value] for name, value in sent.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": route.path,
            "httpMethod": method,
            "extendedRequestId": request_id[:16],
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": API_ID,
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": request_id,
            "identity": {"sourceIp": "203.0.113.24", "userAgent": sent["User-Agent"]},
            "domainName": HOST,
            "deploymentId": "dep001",
            "apiId": API_ID,
        },
        "body": text,
        "isBase64Encoded": False,
    }


def sqs_event(messages: list[Json], queue_arn: str) -> Json:
    """An SQS event source mapping's batch: one record per message received (with ``AttributeNames=All``)."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }
