"""Lambda's Python runtime, as far as a handler can tell: run by the function's own interpreter (the arm64 one under
qemu, or the host's), standard library only, never importing the tests.

Like the managed runtime it puts ``LAMBDA_TASK_ROOT`` first on ``sys.path``, imports ``_HANDLER`` once (the init,
with ``AWS_LAMBDA_INITIALIZATION_TYPE`` as the template's SnapStart makes it), offers ``snapshot_restore_py`` to
register hooks, runs the before-snapshot hooks, then the after-restore hooks before the first event, as a
restored instance does. Events come one JSON line at a time on stdin; each result (or Lambda's error shape) goes
back as one JSON line on the descriptor stdout had at start. Whatever the function prints goes to stderr, the
function's log, so it can never corrupt a result.
"""

import importlib
import json
import logging
import os
import platform
import sys
import time
import traceback
import types

REPLIES = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)


class Context:
    """The attributes handlers and their libraries read from Lambda's context object."""

    def __init__(self, request_id: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.invoked_function_arn = os.environ["DRYRUN_INVOKED_ARN"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _JsonLines(logging.Formatter):
    """The runtime's JSON log lines (``LogFormat: JSON``): its own keys, then each extra attribute of a record."""

    standard = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": self.formatTime(record),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": REQUEST_ID[0],
        }
        line.update({k: v for k, v in record.__dict__.items() if k not in self.standard})
        if record.exc_info:
            line["stackTrace"] = self.formatException(record.exc_info).splitlines()
        return json.dumps(line, default=str)


REQUEST_ID = [""]


def _logging() -> None:
    """As the runtime sets it up before the init: a root handler on the function's log and, with JSON logs, the
    root level at the function's application log level (``AWS_LAMBDA_LOG_LEVEL``)."""
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("AWS_LAMBDA_LOG_FORMAT") == "JSON":
        handler.setFormatter(_JsonLines())
        logging.getLogger().setLevel(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "INFO").replace("WARN", "WARNING"))
    logging.getLogger().addHandler(handler)


def _hooks() -> tuple[list, list]:
    before: list = []
    after: list = []
    library = types.ModuleType("snapshot_restore_py")
    library.register_before_snapshot = lambda hook, *a, **k: before.append((hook, a, k))  # type: ignore[attr-defined]
    library.register_after_restore = lambda hook, *a, **k: after.append((hook, a, k))  # type: ignore[attr-defined]
    sys.modules["snapshot_restore_py"] = library
    return before, after


def main() -> None:
    sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]  # not this script's folder: nothing of the tests is importable
    _logging()
    before, after = _hooks()
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    started = time.monotonic()
    handler = getattr(importlib.import_module(module_name.replace("/", ".")), function_name)
    init_seconds = time.monotonic() - started
    for hook, args, kwargs in before:
        hook(*args, **kwargs)
    for hook, args, kwargs in after:
        hook(*args, **kwargs)
    ready = {
        "init_seconds": round(init_seconds, 2),
        "before_snapshot_hooks": len(before),
        "after_restore_hooks": len(after),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "handler_file": sys.modules[module_name.replace("/", ".")].__file__,
    }
    REPLIES.write(json.dumps({"ready": ready}) + "\n")
    timeout = int(os.environ["DRYRUN_TIMEOUT_SECONDS"])
    for line in sys.stdin:
        request = json.loads(line)
        REQUEST_ID[0] = request["request_id"]
        context = Context(request["request_id"], time.monotonic() + timeout)
        try:
            reply = {"result": handler(request["event"], context)}
        except Exception as exc:  # what Lambda reports for an unhandled error
            trace = traceback.format_exception(type(exc), exc, exc.__traceback__)
            reply = {"error": {"errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": trace}}
        REPLIES.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
