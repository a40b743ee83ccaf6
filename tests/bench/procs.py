"""Parent side of the benchmark's processes: start them, wait until they serve, read their /proc figures."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
TABLE = "responses-bench"
GATEWAY_KEY = "sk-bench-gateway-key"
"""The client's bearer key for the gateway (a static key: auth runs, as it always does when deployed)."""
UPSTREAM_KEY = "sk-bench-upstream"


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any gateway, OpenAI or AWS settings, plus fake credentials and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RESPONSES_", "AWS_", "OPENAI_"))}
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def dynamodb(endpoint: str) -> Any:
    """A DynamoDB client on the bench's moto server (its phases that measure the store in this process)."""
    import boto3

    return boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Child:
    """A started process; ``url`` is what it announced (or where it listens)."""

    process: subprocess.Popen[str]
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid


LOGS = ROOT / "bench-results" / "logs"


def _log_file(name: str) -> IO[str]:
    """Children's stderr goes to ``bench-results/logs/<name>.log``: the table stays readable, errors stay kept."""
    LOGS.mkdir(parents=True, exist_ok=True)
    return (LOGS / f"{name}.log").open("w")


@contextmanager
def announced(*args: str, env: dict[str, str], timeout: float = 30.0) -> Iterator[Child]:
    """Run ``python -m tests.bench.servers <args>`` and wait for its ``READY <url>`` line."""
    with _log_file(args[0]) as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.servers", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        line = ""
        while time.monotonic() < deadline and not line.startswith("READY "):
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                raise RuntimeError(f"tests.bench.servers {args[0]} exited with {process.returncode}: see {LOGS}")
        if not line.startswith("READY "):
            raise RuntimeError(f"tests.bench.servers {args[0]} did not start within {timeout} s")
        yield Child(process, line.split(None, 1)[1].strip())
    finally:
        _stop(process)


@contextmanager
def gateway(upstream_url: str, aws_endpoint: str, timeout: float = 30.0) -> Iterator[Child]:
    """The real app under uvicorn in its own process, configured only through the environment, as deployed."""
    port = free_port()
    env = clean_env(
        OPENAI_BASE_URL=upstream_url,
        OPENAI_API_KEY=UPSTREAM_KEY,
        RESPONSES_TABLE_NAME=TABLE,
        RESPONSES_API_KEYS=f"bench:{GATEWAY_KEY}",
        RESPONSES_LOG_LEVEL="WARNING",
        AWS_ENDPOINT_URL_DYNAMODB=aws_endpoint,
    )
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "gateway.api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with _log_file("gateway") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stderr=log, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the gateway exited with {process.returncode}: see {LOGS}/gateway.log")
            with suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway did not answer /health within {timeout} s")
            time.sleep(0.05)
        yield Child(process, url)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.stdin is not None:
        with suppress(OSError):
            process.stdin.close()
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` (now) and ``VmHWM`` (peak resident set since start) from ``/proc/<pid>/status``, in KiB."""
    figures: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            figures[key] = int(value.split()[0])
    return figures


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used, from ``/proc/<pid>/stat``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy (all cores, steal included), from ``/proc/stat``."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


class Contention:
    """How much CPU processes other than ours used while ours were measured (another build, a test run...)."""

    def __init__(self, pids: list[int]) -> None:
        self._pids = pids
        self._start = self._sample()
        self._wall = time.monotonic()

    def _sample(self) -> tuple[float, float]:
        return machine_busy_seconds(), sum(cpu_seconds(pid) for pid in self._pids)

    def share(self) -> float:
        """Other processes' CPU as a fraction of the machine's capacity since construction (0.0 to 1.0)."""
        busy, ours = self._sample()
        foreign = (busy - self._start[0]) - (ours - self._start[1])
        capacity = (time.monotonic() - self._wall) * (os.cpu_count() or 1)
        return max(0.0, foreign / capacity) if capacity > 0 else 0.0
