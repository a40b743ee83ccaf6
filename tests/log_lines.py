"""The gateway's JSON log lines as a deployed function writes them, captured for a test."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from gateway.logs import log_handler
from tests.conftest import make_settings

UPSTREAM_LOGGER = "tests.upstream"
"""A line the fake upstream logs while the gateway waits on it: a line from inside a request or a job."""


class LogLines:
    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def all(self) -> list[dict[str, Any]]:
        """Every line, each parsed as one JSON object (a line that is not one fails the test here)."""
        return [json.loads(line) for line in self.text.splitlines()]

    def matching(self, fragment: str) -> list[dict[str, Any]]:
        return [line for line in self.all() if fragment in line["message"]]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    """The handler ``configure_logging`` installs when the root logger has none (uvicorn under the web adapter),
    JSON as on Lambda, on the root logger for the test."""
    lines = LogLines()
    handler = log_handler(make_settings(log_format="json"), lines.stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lines
    finally:
        root.removeHandler(handler)
