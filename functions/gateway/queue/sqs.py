"""``SqsJobQueue``: the ``JobQueue`` and ``MessageVisibility`` ports on an SQS standard queue."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from gateway.domain.ports import BackgroundJob

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger("gateway.queue")
MAX_VISIBILITY_SECONDS = 43_200
"""SQS's ceiling for a visibility timeout (12 hours)."""
_STALE_HANDLE = frozenset(
    {
        "ReceiptHandleIsInvalid",
        "AWS.SimpleQueueService.MessageNotInflight",
        "MessageNotInflight",
        "InvalidParameterValue",  # "The receipt handle has expired"
    }
)


class SqsJobQueue:
    def __init__(self, queue_url: str, client: SQSClient) -> None:
        self._queue_url = queue_url
        self._client = client

    async def enqueue(self, job: BackgroundJob) -> None:
        await asyncio.to_thread(self._client.send_message, QueueUrl=self._queue_url, MessageBody=job.body())

    async def change_visibility(self, receipt_handle: str, seconds: int) -> bool:
        return await asyncio.to_thread(self._change_visibility, receipt_handle, seconds)

    def _change_visibility(self, receipt_handle: str, seconds: int) -> bool:
        try:
            self._client.change_message_visibility(
                QueueUrl=self._queue_url,
                ReceiptHandle=receipt_handle,
                VisibilityTimeout=max(0, min(seconds, MAX_VISIBILITY_SECONDS)),
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in _STALE_HANDLE:
                raise
            logger.info("the jobs queue no longer takes this receipt handle (%s)", code)
            return False
        return True
