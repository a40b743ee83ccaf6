"""Lambda's SQS event source, locally: long-poll the jobs queue and call the real worker handler.

moto does not poll SQS into Lambda, so ``make run`` runs a few of these consumers in threads. Like the deployed
event source (batch size 1, ``ReportBatchItemFailures``), each receives one message, hands the handler an
SQS-shaped event, deletes the message unless the handler reported it failed, and otherwise leaves it to come
back after the visibility timeout, counting towards the dead-letter queue's ``maxReceiveCount``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
logger = logging.getLogger("gateway.dev.worker")


def sqs_event(message: MessageTypeDef, queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source would deliver for ``message``."""
    body = message.get("Body", "")
    return {
        "Records": [
            {
                "messageId": message.get("MessageId", ""),
                "receiptHandle": message.get("ReceiptHandle", ""),
                "body": body,
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        ]
    }


class WorkerLoop:
    """``consumers`` threads, each a one-message-at-a-time event source, until ``stop``."""

    def __init__(
        self,
        client: SQSClient,
        queue_url: str,
        handler: Handler,
        *,
        region: str,
        consumers: int = 4,
        wait_seconds: int = 5,
    ) -> None:
        self._client = client
        self._queue_url = queue_url
        self._handler = handler
        self._region = region
        self._wait_seconds = wait_seconds
        self._stopping = threading.Event()
        attributes = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self._queue_arn = attributes["Attributes"]["QueueArn"]
        # Daemon threads: Ctrl-C never waits on a model call (the job dies with the embedded AWS state anyway).
        self._threads = [
            threading.Thread(target=self._consume, name=f"worker-{index}", daemon=True) for index in range(consumers)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, grace_seconds: float = 0.5) -> None:
        """Stop receiving. Threads still in a long poll or a job are not waited for long: they end when the
        embedded AWS endpoint goes away, and in-memory moto keeps nothing for a next run anyway."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(grace_seconds / len(self._threads))

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every consumer to end (after ``stop``); True if they all did."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self._threads)

    def _consume(self) -> None:
        while not self._stopping.is_set():
            try:
                self._poll_once()
            except Exception:
                if self._stopping.is_set():
                    return  # the embedded AWS endpoint is going away with us
                logger.exception("worker loop: receiving from the jobs queue failed")
                self._stopping.wait(1.0)

    def _poll_once(self) -> None:
        reply = self._client.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=1,
            WaitTimeSeconds=self._wait_seconds,
            AttributeNames=["All"],
        )
        for message in reply.get("Messages", []):
            try:
                result = self._handler(sqs_event(message, self._queue_arn, self._region), None)
            except Exception:
                logger.exception("worker handler raised; the job is left for redelivery")
                continue
            failed = {failure["itemIdentifier"] for failure in result.get("batchItemFailures", [])}
            if message.get("MessageId") not in failed:
                self._client.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message.get("ReceiptHandle", ""))


@contextmanager
def worker_loop(
    client: SQSClient, queue_url: str, handler: Handler, *, region: str, consumers: int = 4, wait_seconds: int = 5
) -> Iterator[WorkerLoop]:
    loop = WorkerLoop(client, queue_url, handler, region=region, consumers=consumers, wait_seconds=wait_seconds)
    loop.start()
    try:
        yield loop
    finally:
        loop.stop()


def provision_queue(client: SQSClient, name: str, *, max_receives: int, visibility_seconds: int) -> str:
    """The jobs queue and its dead-letter queue, as CDK creates them; returns the jobs queue URL."""
    import json

    dead = client.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_arn = client.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": str(max_receives)})
    return client.create_queue(
        QueueName=name,
        Attributes={"VisibilityTimeout": str(visibility_seconds), "RedrivePolicy": redrive},
    )["QueueUrl"]
