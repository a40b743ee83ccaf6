"""``python -m gateway.keys`` fails in one line that says what to do, never with a traceback (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from gateway import keys
from gateway.settings import get_settings
from tests.conftest import TABLE

ROOT = Path(__file__).resolve().parents[2]


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI expecting a failure; return its one line of error."""
    assert keys.main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith("error: ")
    return line


def test_an_invalid_tenant_is_one_line(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RESPONSES_TABLE_NAME", TABLE)
    assert "tenant names are 1-64 letters" in _fails(["create", "--tenant", "has#hash"], capsys)


def test_a_missing_table_names_the_setting_and_the_alternatives(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RESPONSES_TABLE_NAME", "no-such-table")
    line = _fails(["list"], capsys)
    assert "no-such-table" in line and "RESPONSES_TABLE_NAME" in line and "--local" in line


def test_no_credentials_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    # boto3's default session keeps the credentials it resolved for an earlier test: start from none.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    line = _fails(["create", "--tenant", "acme"], capsys)
    assert "no AWS credentials" in line and "AWS_PROFILE" in line and "--local" in line


def test_local_without_a_running_server_says_to_start_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert "make run" in _fails(["--local", "list"], capsys)


def test_local_with_a_stale_server_file_says_it_is_not_running(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".local").mkdir()
    stale = {"pid": 1, "url": "http://127.0.0.1:8000/v1", "aws_endpoint": "http://127.0.0.1:9", "region": "us-east-1"}
    (tmp_path / ".local" / "server.json").write_text(json.dumps({**stale, "table": "responses"}))
    assert "not running" in _fails(["--local", "create", "--tenant", "acme"], capsys)


def test_an_invalid_setting_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("RESPONSES_TTL_DAYS", "soon")
    get_settings.cache_clear()
    assert "ttl_days" in _fails(["list"], capsys)


def test_the_module_as_a_process_prints_no_traceback(tmp_path: Path) -> None:
    # What a newcomer runs: the module itself, in a directory with no make run, asking for local keys.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "functions")}
    done = subprocess.run(
        [sys.executable, "-m", "gateway.keys", "--local", "create", "--tenant", "acme"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_an_unreadable_provider_secret_is_one_line(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RESPONSES_PROVIDER_SECRET_ID", "no-such-secret")
    line = _fails(["list"], capsys)
    assert "no-such-secret" in line and "RESPONSES_PROVIDER_SECRET_ID" in line
