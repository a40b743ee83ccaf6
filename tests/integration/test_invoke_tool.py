"""``make invoke EVENT=...``: each event works on its own in a fresh moto (issue 13: all but create were 404, and
the SQS event did nothing, silently). What the tool did goes to stderr, the handler's last result to stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.upstream import FakeUpstream, text_reply

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"


def make_invoke(event: str, **env: str) -> tuple[dict[str, Any], str]:
    """The tool as `make invoke` runs it, in its own process; returns (the result on stdout, what it said)."""
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "RESPONSES_"))},
        "PYTHONPATH": os.pathsep.join([str(ROOT / "infra"), str(ROOT / "functions")]),
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-m", "gateway_infra.tools.invoke", str(EVENTS / event)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


@pytest.fixture
def served_upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with fake.serve() as url:
        yield fake, url


NO_UPSTREAM = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "sk-unused"}
"""The discard port: a create through it fails, which the tool must get past."""


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ("http-retrieve-response.json", None),
        ("http-list-input-items.json", None),
        ("http-delete-response.json", None),
        ("http-cancel-response.json", "cancelled"),
    ],
)
def test_events_about_a_response_create_one_first_even_without_an_upstream(event: str, status: str | None) -> None:
    result, said = make_invoke(event, **NO_UPSTREAM)

    assert result["statusCode"] == 200, result
    assert "POST /v1/responses" in said  # it says it created the response the event is about
    created_id = next(word for word in said.split() if word.startswith("resp_"))
    assert created_id in json.dumps(result["body"]) or event == "http-list-input-items.json"
    if status is not None:
        assert result["body"]["status"] == status


def test_retrieve_shows_a_completed_response_when_an_upstream_answers(
    served_upstream: tuple[FakeUpstream, str],
) -> None:
    upstream, url = served_upstream
    upstream.will(text_reply("a haiku"))
    result, _ = make_invoke("http-retrieve-response.json", OPENAI_BASE_URL=url, OPENAI_API_KEY="sk-x")
    assert result["body"]["status"] == "completed"
    assert result["body"]["output"][0]["content"][0]["text"] == "a haiku"


def test_the_sqs_event_runs_the_background_job_it_created(served_upstream: tuple[FakeUpstream, str]) -> None:
    upstream, url = served_upstream
    upstream.will(text_reply("done in the background"))
    result, said = make_invoke("sqs-background-job.json", OPENAI_BASE_URL=url, OPENAI_API_KEY="sk-x")

    assert "background" in said and "worker" in said
    assert result["body"]["status"] == "completed"  # the response as retrieved after the worker ran
    assert result["body"]["output"][0]["content"][0]["text"] == "done in the background"


def test_the_sqs_event_without_an_upstream_says_why_the_job_failed() -> None:
    result, said = make_invoke("sqs-background-job.json")  # no OPENAI_* at all: api.openai.com without a key
    assert result["body"]["status"] == "failed"
    assert "OPENAI_API_KEY" in result["body"]["error"]["message"]
    assert "failed" in said
