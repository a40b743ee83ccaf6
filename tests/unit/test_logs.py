"""Log scopes, the two line formats, and where ``configure_logging`` writes (or leaves the writing to Lambda)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from gateway.logs import (
    JsonFormatter,
    TextFormatter,
    bind,
    configure_logging,
    fields_of,
    log_handler,
    log_scope,
)
from gateway.settings import Settings

logger = logging.getLogger("gateway.test")


@pytest.fixture(autouse=True)
def _gateway_level() -> Iterator[None]:
    """These tests set the gateway's level; the next test gets it back as it was."""
    gateway = logging.getLogger("gateway")
    level = gateway.level
    yield
    gateway.setLevel(level)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Records as a handler receives them, once the gateway's logging is configured."""
    configure_logging(Settings(log_level="DEBUG"))
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    handler = Keep()
    logger.addHandler(handler)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)


def test_a_record_carries_the_fields_of_the_scope_it_was_made_in(records: list[logging.LogRecord]) -> None:
    logger.info("before")
    with log_scope(request_id="req_1"):
        logger.info("inside")
        bind(tenant="acme")
        with log_scope(response_id="resp_1"):  # a nested scope adds to the enclosing one's fields
            logger.info("nested")
        logger.info("after nested")
    logger.info("after")
    bind(tenant="nobody")  # outside any scope: nothing to add to
    logger.info("still outside")

    assert [fields_of(record) for record in records] == [
        {},
        {"request_id": "req_1"},
        {"request_id": "req_1", "tenant": "acme", "response_id": "resp_1"},
        {"request_id": "req_1", "tenant": "acme"},
        {},
        {},
    ]


def test_a_field_bound_later_reaches_tasks_the_scope_started(records: list[logging.LogRecord]) -> None:
    async def request() -> None:
        with log_scope(request_id="req_2"):
            bound = asyncio.Event()

            async def child() -> None:  # a task copies the context, and with it the scope's dict
                await bound.wait()
                logger.info("from the child")

            task = asyncio.create_task(child())
            bind(tenant="acme")
            bound.set()
            await task

    asyncio.run(request())

    [record] = records
    assert fields_of(record) == {"request_id": "req_2", "tenant": "acme"}


def _record(level: int, message: str, **fields: object) -> logging.LogRecord:
    record = logger.makeRecord(logger.name, level, __file__, 1, message, (), None)
    record.__dict__.update(fields)
    return record


def test_json_lines_parse_and_carry_the_fields() -> None:
    line = json.loads(JsonFormatter().format(_record(logging.INFO, "hello", request_id="req_3", attempt=2)))

    assert line["message"] == "hello" and line["logger"] == "gateway.test" and line["level"] == "INFO"
    assert (line["request_id"], line["attempt"]) == ("req_3", 2)
    assert line["timestamp"].endswith("Z") and line["timestamp"][10] == "T"  # RFC 3339, UTC


@pytest.mark.parametrize(("level", "name"), [(logging.WARNING, "WARN"), (logging.CRITICAL, "FATAL")])
def test_json_levels_are_the_names_lambdas_filter_knows(level: int, name: str) -> None:
    assert json.loads(JsonFormatter().format(_record(level, "x")))["level"] == name


def test_an_exception_is_one_json_line_with_its_type_message_and_trace() -> None:
    try:
        raise ValueError("the table is on fire")
    except ValueError:
        record = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    text = JsonFormatter().format(record)

    assert "\n" not in text
    line = json.loads(text)
    assert (line["errorType"], line["errorMessage"]) == ("ValueError", "the table is on fire")
    assert any("raise ValueError" in frame for frame in line["stackTrace"])


def test_text_lines_are_readable_and_name_the_fields() -> None:
    text = TextFormatter().format(_record(logging.INFO, "hello", request_id="req_4", tenant="acme"))

    assert text.endswith("INFO gateway.test: hello  request_id=req_4 tenant=acme")
    assert TextFormatter().format(_record(logging.INFO, "plain")).endswith("gateway.test: plain")


@pytest.mark.parametrize(
    ("environment", "json_logs"),
    [
        ({}, False),
        ({"AWS_LAMBDA_FUNCTION_NAME": "gateway-api-stream"}, True),
        ({"AWS_LAMBDA_FUNCTION_NAME": "gateway-api-stream", "RESPONSES_LOG_FORMAT": "text"}, False),
        ({"RESPONSES_LOG_FORMAT": "json"}, True),
    ],
)
def test_the_format_is_json_on_lambda_and_text_elsewhere_unless_set(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], json_logs: bool
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert Settings().json_logs is json_logs
    assert isinstance(log_handler(Settings()).formatter, JsonFormatter if json_logs else TextFormatter)


def _bare_root(monkeypatch: pytest.MonkeyPatch) -> logging.Logger:
    """The root logger as uvicorn under the web adapter leaves it: no handler. Called in the test itself, since
    pytest adds its capturing handlers to the root for each test's run."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(logging.getLogger("uvicorn"), "handlers", [logging.StreamHandler(io.StringIO())])
    return root


def test_without_a_root_handler_the_gateway_installs_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "gateway-api-stream")
    root = _bare_root(monkeypatch)

    configure_logging(Settings())
    configure_logging(Settings())  # the next app's first request: still one handler

    [handler] = root.handlers
    assert isinstance(handler.formatter, JsonFormatter)
    assert logging.getLogger("uvicorn").handlers == [handler]  # uvicorn's own lines in the same JSON


def test_a_root_handler_already_there_is_left_to_format(monkeypatch: pytest.MonkeyPatch) -> None:
    root = _bare_root(monkeypatch)
    lambdas = logging.StreamHandler(io.StringIO())  # as Lambda's runtime sets one up on the api and worker functions
    root.addHandler(lambdas)

    configure_logging(Settings(log_level="WARNING"))

    assert root.handlers == [lambdas] and lambdas.formatter is None
    assert logging.getLogger("gateway").level == logging.WARNING
