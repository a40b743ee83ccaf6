"""The gateway exactly as ``make run`` serves it: ``python -m gateway.dev`` as a child process on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 30.0
"""moto and uvicorn usually start in 3-5 s; a loaded machine must not make this flaky."""
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class Gateway:
    url: str
    """``http://127.0.0.1:N`` (no ``/v1``)."""
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    with httpx.Client(trust_env=False, timeout=1.0) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"gateway.dev exited early with {process.returncode}:\n{log.read_text()}")
            try:
                if http.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # nothing to wait on but the port
    raise RuntimeError(f"gateway.dev did not answer {url} within {START_SECONDS} s:\n{log.read_text()}")


@contextmanager
def dev_gateway(log: Path, **settings: str) -> Iterator[Gateway]:
    """Start ``python -m gateway.dev`` with ``settings`` as environment variables (``OPENAI_BASE_URL``,
    ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``...); no inherited gateway, AWS or OpenAI variables; auth off."""
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("RESPONSES_", "AWS_", "OPENAI_"))}
    env = {
        **inherited,
        "PORT": str(port),
        "PYTHONPATH": str(ROOT / "functions"),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        **settings,
    }
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.dev"], cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        _wait_for_health(f"http://127.0.0.1:{port}/health", process, log)
        yield Gateway(url=f"http://127.0.0.1:{port}", log=log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
