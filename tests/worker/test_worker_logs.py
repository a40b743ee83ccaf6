"""A background job's log lines name the response, its tenant, the delivery and the attempt that runs it."""

from __future__ import annotations

import logging

from tests.background import TENANT, Background, background
from tests.fakes.upstream import FakeUpstream, Json, Reply, echo, error_reply
from tests.log_lines import UPSTREAM_LOGGER, LogLines, log_lines

__all__ = ["background", "log_lines"]


def _logs_then_echoes(body: Json) -> Reply:
    logging.getLogger(UPSTREAM_LOGGER).warning("upstream called by the worker")
    return echo(body)


def test_a_line_logged_during_a_run_names_the_response_and_attempt(
    background: Background, upstream: FakeUpstream, log_lines: LogLines
) -> None:
    response_id = background.create(input="hi")["id"]
    upstream.will(_logs_then_echoes)

    assert background.deliver(response_id, receive_count=3) == {"batchItemFailures": []}

    [line] = log_lines.matching("upstream called by the worker")
    assert line["response_id"] == response_id and line["tenant"] == TENANT
    assert line["attempt"] == 1 and line["delivery"] == 3
    assert "request_id" not in line  # the API request that queued the job has ended


def test_the_workers_own_lines_carry_the_attempt_they_belong_to(
    background: Background, upstream: FakeUpstream, log_lines: LogLines
) -> None:
    response_id = background.create(input="hi")["id"]
    upstream.will(
        error_reply(429, "Slow down.", code="rate_limit_exceeded", headers={"retry-after": "2"}),
        _logs_then_echoes,
    )

    assert background.deliver(response_id)["batchItemFailures"]  # asked to wait: redelivered later
    assert background.deliver(response_id, receive_count=2) == {"batchItemFailures": []}

    [waiting] = log_lines.matching("the upstream asked to wait")  # logged by the worker itself
    [rerun] = log_lines.matching("upstream called by the worker")
    assert (waiting["response_id"], waiting["attempt"], waiting["delivery"]) == (response_id, 1, 1)
    assert (rerun["response_id"], rerun["attempt"], rerun["delivery"]) == (response_id, 2, 2)
    assert waiting["logger"] == "gateway.worker" and waiting["level"] == "INFO"
