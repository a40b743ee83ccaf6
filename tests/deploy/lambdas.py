"""The functions as Lambda starts them: each in its own process, with only the environment Lambda gives it.

``Buffered`` is a function under Lambda's Python runtime (``bootstrap.py`` plays the runtime); ``Adapted`` is a
function under the Lambda Web Adapter: its handler (``run.sh``) is executed from the task root with the template's
``AWS_LWA_*`` settings, and requests reach it as the adapter sends them, over HTTP on the adapter's port, after its
readiness check and its SnapStart after-restore call.
"""

from __future__ import annotations

import json
import select
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import IO, Any

import httpx

from tests.deploy.template import ACCOUNT, REGION, Function
from tests.deploy.variants import Variant

Json = dict[str, Any]
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
RESERVED = frozenset(
    {"_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV"}
    | {"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION"}
    | {"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
)
"""Variables Lambda sets itself and refuses in a function's configuration."""


def environment(
    name: str, function: Function, variables: dict[str, str], variant: Variant, bin_dir: Path, aws_endpoint: str
) -> dict[str, str]:
    """What Lambda's process gets: its own variables, then the template's (already resolved). Nothing of this
    machine's environment leaks in but a PATH to ``sh`` and the function's ``python``."""
    clash = RESERVED & set(variables)
    assert not clash, f"{function.logical_id} sets variables Lambda reserves: {sorted(clash)}"
    runtime = {
        "_HANDLER": function.handler,
        "LAMBDA_TASK_ROOT": str(variant.task_root),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "dryrun",
        "AWS_LAMBDA_LOG_FORMAT": function.log_format,
        "AWS_LAMBDA_LOG_LEVEL": function.application_log_level,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start" if function.snap_start else "on-demand",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        # Lambda's credentials are the role's; here moto's, and every AWS call goes to moto.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_ENDPOINT_URL": aws_endpoint,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONDONTWRITEBYTECODE": "1",
        "DRYRUN_INVOKED_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}:live",
        "DRYRUN_TIMEOUT_SECONDS": str(function.timeout_seconds),
    }
    merged = {**runtime, **variant.environment, **variables}
    if "PYTHONPYCACHEPREFIX" in merged:
        del merged["PYTHONDONTWRITEBYTECODE"]
    return merged


def python_on_path(variant: Variant, bin_dir: Path) -> None:
    """``python`` as the runtime's PATH has it (``run.sh`` calls it by that name)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / "python"
    script.write_text("#!/bin/sh\nexec " + " ".join(f"'{part}'" for part in variant.python) + ' "$@"\n')
    script.chmod(0o755)


class Buffered:
    """One instance of a function under Lambda's Python runtime."""

    def __init__(self, name: str, function: Function, env: dict[str, str], variant: Variant, log: IO[str]) -> None:
        self.name, self.function, self.variant = name, function, variant
        self.log_path = Path(log.name)
        self.process = subprocess.Popen(
            [*variant.python, str(BOOTSTRAP)],
            cwd=variant.task_root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self.ready: Json = {}

    def _reply(self, timeout: float) -> Json:
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if readable else ""
        if not line:
            raise AssertionError(f"{self.name} gave no reply within {timeout:.0f} s: {tail(self.log_path)}")
        reply: Json = json.loads(line)
        return reply

    def wait_ready(self) -> Json:
        self.ready = self._reply(self.variant.init_timeout)["ready"]
        return self.ready

    def invoke(self, event: Json) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"event": event, "request_id": str(uuid.uuid4())}) + "\n")
        self.process.stdin.flush()
        reply = self._reply(self.function.timeout_seconds + 30)
        assert "error" not in reply, f"{self.name} raised: {''.join(reply['error']['stackTrace'])}"
        return reply["result"]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        stop(self.process)
        if self.process.stdout is not None:
            self.process.stdout.close()


class Adapted:
    """One instance of the function under the Lambda Web Adapter: ``$LAMBDA_TASK_ROOT/$_HANDLER`` executed as the
    adapter's bootstrap does, then reached the way the adapter reaches it."""

    def __init__(self, name: str, function: Function, env: dict[str, str], variant: Variant, log: IO[str]) -> None:
        self.name, self.function, self.variant = name, function, variant
        self.log_path = Path(log.name)
        self.env = env
        # The adapter forwards to AWS_LWA_PORT (PORT is its deprecated name; 8080 its default).
        self.port = int(env.get("AWS_LWA_PORT") or env.get("PORT") or 8080)
        self.process = subprocess.Popen(
            [str(variant.task_root / function.handler)], cwd=variant.task_root, env=env, stdout=log, stderr=log
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=function.timeout_seconds)

    def wait_ready(self) -> Json:
        """The adapter's readiness check (GET ``AWS_LWA_READINESS_CHECK_PATH``, healthy below 500), then, as
        SnapStart restores, its POST to ``AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH``; both statuses returned."""
        path = self.env.get("AWS_LWA_READINESS_CHECK_PATH", "/")
        deadline = time.monotonic() + self.variant.init_timeout
        started = time.monotonic()
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited with {self.process.returncode}: {tail(self.log_path)}")
            try:
                status = self.client.get(path).status_code
                if status < int(self.env.get("AWS_LWA_READINESS_CHECK_MIN_UNHEALTHY_STATUS", "500")):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} not ready on :{self.port}{path}: {tail(self.log_path)}")
            time.sleep(0.2)
        ready: Json = {"readiness_status": status, "init_seconds": round(time.monotonic() - started, 2)}
        restore = self.env.get("AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH")
        if restore and self.function.snap_start:
            ready["after_restore_status"] = self.client.post(restore).status_code
        return ready

    def forward(self, event: Json) -> httpx.Response:
        """The request the adapter makes of an API Gateway REST proxy event, response streamed back."""
        headers = [(name, value) for name, values in event["multiValueHeaders"].items() for value in values]
        headers.append(("x-amzn-request-context", json.dumps(event["requestContext"])))
        headers.append(("x-amzn-lambda-context", json.dumps({"request_id": event["requestContext"]["requestId"]})))
        query = [(k, v) for k, vs in (event.get("multiValueQueryStringParameters") or {}).items() for v in vs]
        body = (event["body"] or "").encode()
        request = self.client.build_request(
            event["httpMethod"], event["path"], params=query, headers=headers, content=body
        )
        return self.client.send(request, stream=True)

    def close(self) -> None:
        self.client.close()
        stop(self.process)


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def tail(path: Path, lines: int = 40) -> str:
    return "\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def remap_port(env: dict[str, str], port: int) -> dict[str, str]:
    """The template's port taken on this machine (a `make run`, another test): every variable naming it moves
    to a free one together, so the adapter's port and run.sh's still agree only if the template's did."""
    return {
        k: (str(port) if k in ("AWS_LWA_PORT", "PORT") and v == env.get("AWS_LWA_PORT") else v) for k, v in env.items()
    }
