"""Log lines that say which request or job they belong to, as JSON on Lambda and as text locally.

The API's middleware opens a scope per request (``request_id``, the ``x-request-id`` it sends back; ``tenant``
once the key is checked) and the worker one per job (``response_id``, ``tenant``, ``delivery``; ``attempt`` once
claimed). Every record made inside a scope carries its fields as attributes, whichever logger makes it (a
botocore warning too). They are added by a record factory rather than a ``logging.Filter``: a filter must sit on
every handler, and the handlers are not ours to know. On the ``api`` and ``worker`` functions Lambda's runtime
owns the root handler, and with the functions' ``LogFormat: JSON`` its formatter writes every extra attribute
as a key next to its own ``requestId`` (the invocation's). Under the Lambda Web Adapter (``api-stream``) the
runtime never starts (the adapter's bootstrap execs uvicorn instead), so the root logger has no handler and
``configure_logging`` installs one writing one JSON object per line, with the level names Lambda's log-level
filter reads. ``make run`` gets the same handler with readable text (``RESPONSES_LOG_FORMAT``).

Fields hold ids and counts only: keys, prompts and outputs are never logged (ARCHITECTURE §6). A call's
``extra`` must not reuse a scope's field name: ``logging`` refuses to overwrite an attribute a record already has.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any

from gateway.log_scope import Fields, bind, close_scope, current_fields, log_scope, open_scope
from gateway.quiet_logs import quiet_libraries

__all__ = ["bind", "close_scope", "configure_logging", "log_scope", "open_scope"]

if TYPE_CHECKING:
    from gateway.settings import Settings

_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
"""A record's own attributes; anything else on it is a field (from a scope, or a call's ``extra``)."""
_LAMBDA_LEVELS = {"WARNING": "WARN", "CRITICAL": "FATAL"}
"""Lambda's application log-level filter knows TRACE, DEBUG, INFO, WARN, ERROR, FATAL; it files a line whose
level it does not know as INFO, so a WARNING line would be dropped at ``ApplicationLogLevel: WARN``."""


def fields_of(record: logging.LogRecord) -> Fields:
    """The record's fields: its scope's, and any ``extra`` of the call."""
    return {key: value for key, value in record.__dict__.items() if key not in _STANDARD}


class _ScopedRecords:
    """A record factory adding the current scope's fields to each record as it is made."""

    def __init__(self, base: Callable[..., logging.LogRecord]) -> None:
        self._base = base

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self._base(*args, **kwargs)
        fields = current_fields()
        if fields:
            record.__dict__.update(fields)
        return record


class JsonFormatter(logging.Formatter):
    """One JSON object per line, keyed as Lambda's own Python formatter keys its lines."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": _LAMBDA_LEVELS.get(record.levelname, record.levelname),
            "logger": record.name,
            "message": record.getMessage(),
            **fields_of(record),
        }
        if record.exc_info and record.exc_info[0] is not None:
            kind, error, trace = record.exc_info
            line["errorType"] = kind.__name__
            line["errorMessage"] = str(error)
            line["stackTrace"] = traceback.format_tb(trace)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message  key=value …`` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        fields = fields_of(record)
        suffix = "  " + " ".join(f"{key}={value}" for key, value in fields.items()) if fields else ""
        return super().formatMessage(record) + suffix


def log_handler(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """A handler writing to ``stream`` (stderr) in the format the settings choose."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if settings.json_logs else TextFormatter())
    return handler


def configure_logging(settings: Settings) -> None:
    """Called where settings are first read (the first request or job, ``make run``), never at import; again
    only sets the level."""
    if not isinstance(logging.getLogRecordFactory(), _ScopedRecords):
        logging.setLogRecordFactory(_ScopedRecords(logging.getLogRecordFactory()))
    logging.getLogger("gateway").setLevel(settings.log_level)
    root = logging.getLogger()
    quiet_libraries()
    if root.handlers:  # Lambda's runtime (api, worker), or a test harness: it formats
        return
    handler = log_handler(settings)
    root.addHandler(handler)
    if settings.json_logs:
        # uvicorn's own lines (a protocol error, an exception outside the app) in the same JSON, not its text.
        server = logging.getLogger("uvicorn")
        if server.handlers:
            server.handlers = [handler]
