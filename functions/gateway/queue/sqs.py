"""``SqsJobQueue``: the ``JobQueue`` port on an SQS standard queue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.queue.messages import BackgroundJob

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


class SqsJobQueue:
    def __init__(self, queue_url: str, client: SQSClient) -> None:
        self._queue_url = queue_url
        self._client = client

    def enqueue(self, job: BackgroundJob) -> None:
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=job.body())
