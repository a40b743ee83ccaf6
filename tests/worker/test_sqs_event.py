"""The SQS event contract the worker relies on to hold a job's message: each record's receipt handle, as Lambda's
event source sends it and as the local worker loop (``make run``) builds it."""

from __future__ import annotations

import boto3
import pytest

from gateway.dev.worker import sqs_event
from gateway.queue.messages import BackgroundJob, Delivery, deliveries
from tests.integration.test_worker_event import load_event

JOB = BackgroundJob(tenant="acme", response_id="resp_0123")


def test_a_lambda_record_gives_its_receipt_handle_and_receive_count() -> None:
    [record] = load_event()["Records"]

    [delivery] = deliveries({"Records": [record]})

    assert isinstance(delivery, Delivery)
    assert delivery.receipt_handle == record["receiptHandle"] and delivery.receipt_handle
    assert delivery.receive_count == 1


@pytest.mark.usefixtures("aws")
def test_the_local_event_source_passes_the_handle_of_the_receive_it_made() -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody=JOB.body())
    [message] = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"])["Messages"]

    [delivery] = deliveries(sqs_event(message, "arn:aws:sqs:us-east-1:123456789012:jobs", "us-east-1"))

    assert isinstance(delivery, Delivery) and delivery.job == JOB
    assert delivery.receipt_handle == message["ReceiptHandle"]
    # the handle works: the message can be hidden with it
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=delivery.receipt_handle, VisibilityTimeout=60)
