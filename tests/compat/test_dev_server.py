"""Smoke test of the ``make run`` entry point: ``python -m gateway.dev`` as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from tests.compat.live import MODEL, free_port
from tests.fakes.upstream import FakeUpstream, text_reply

pytestmark = pytest.mark.compat

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 20.0
"""Generous: moto and uvicorn usually start in 3-5 s, but a loaded machine must not make this flaky."""
STOP_SECONDS = 5.0


def _wait_for_health(url: str, process: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    with httpx.Client(trust_env=False, timeout=1.0) as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"gateway.dev exited early with {process.returncode}:\n{log.read_text()}")
            try:
                if http.get(url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # between polls only: nothing to wait on but the port
    pytest.fail(f"gateway.dev did not answer {url} within {START_SECONDS} s:\n{log.read_text()}")


@pytest.fixture
def dev_upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with fake.serve() as url:
        yield fake, url


def test_make_run_serves_the_sdk_and_stops_on_sigint(dev_upstream: tuple[FakeUpstream, str], tmp_path: Path) -> None:
    # Given `make run`'s entry point on a free port, with the fake upstream and no gateway keys
    upstream, upstream_url = dev_upstream
    upstream.will(text_reply("hello from make run"))
    port = free_port()
    env = {
        **os.environ,  # already scrubbed of RESPONSES_/AWS_/OPENAI_ by the root conftest
        "PORT": str(port),
        "OPENAI_BASE_URL": upstream_url,
        "OPENAI_API_KEY": "x",
        "PYTHONPATH": str(ROOT / "functions"),
    }
    log = tmp_path / "gateway-dev.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            # In a directory of its own: its .local/ (sealing key, server.json, keys.json) is not the checkout's.
            [sys.executable, "-m", "gateway.dev"],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        _wait_for_health(f"http://127.0.0.1:{port}/health", process, log)

        # When the SDK makes one call, with any key (auth is off)
        with OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="anything", max_retries=0, timeout=10) as sdk:
            response = sdk.responses.create(model=MODEL, input="hi")

        # Then it is answered through the upstream with the configured key
        assert response.status == "completed"
        assert response.output_text == "hello from make run"
        assert upstream.headers[0]["authorization"] == "Bearer x"
        # And the banner names the URL and says plainly that auth is off
        output = log.read_text()
        assert f"http://127.0.0.1:{port}/v1" in output
        [auth_line] = [line for line in output.splitlines() if line.strip().startswith("auth")]
        assert "OFF" in auth_line

        # When it gets Ctrl+C
        process.send_signal(signal.SIGINT)

        # Then it shuts down cleanly and promptly
        assert process.wait(timeout=STOP_SECONDS) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _keys(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m gateway.keys --local ...`` as a newcomer runs it, from the directory `make run` started in."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "functions")}
    return subprocess.run(
        [sys.executable, "-m", "gateway.keys", "--local", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_keys_made_for_make_run_name_their_tenant(dev_upstream: tuple[FakeUpstream, str], tmp_path: Path) -> None:
    # Given `make run` started in a directory of its own (its .local/ is there), with auth off
    upstream, upstream_url = dev_upstream
    upstream.will(text_reply("for acme"))
    port = free_port()
    env = {**os.environ, "PORT": str(port), "OPENAI_BASE_URL": upstream_url, "OPENAI_API_KEY": "x"}
    env["RESPONSES_KEY_CACHE_SECONDS"] = "0"  # a revoked key is otherwise trusted until its cache entry expires
    env["PYTHONPATH"] = str(ROOT / "functions")
    log = tmp_path / "gateway-dev.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.dev"],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_for_health(f"http://127.0.0.1:{port}/health", process, log)

        # When a key is created for tenant acme with the keys CLI
        created = _keys(tmp_path, "create", "--tenant", "acme")
        assert created.returncode == 0, created.stderr
        key = next(line for line in created.stdout.splitlines() if line.startswith("sk-gw-"))
        assert base_url in created.stdout  # it says which server's table holds the key

        # Then the server takes it as acme's: what acme creates, the open tenant does not see
        with OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=10) as acme:
            response = acme.responses.create(model=MODEL, input="hi")
            assert acme.responses.retrieve(response.id).output_text == "for acme"
        with httpx.Client(trust_env=False, timeout=5) as http:
            assert http.get(f"{base_url}/responses/{response.id}").status_code == 404

            # And once revoked the key is refused
            key_id = created.stdout.splitlines()[0].removeprefix("key id: ")
            assert _keys(tmp_path, "revoke", key_id).returncode == 0
            refused = http.get(f"{base_url}/responses/{response.id}", headers={"authorization": f"Bearer {key}"})
            assert refused.status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=STOP_SECONDS)

    # When the server has stopped, the CLI says so in one line
    assert not (tmp_path / ".local" / "server.json").exists()
    stopped = _keys(tmp_path, "list")
    assert stopped.returncode == 1 and len(stopped.stderr.splitlines()) == 1 and "make run" in stopped.stderr
