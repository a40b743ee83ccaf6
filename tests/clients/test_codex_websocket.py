"""Codex's built-in ``openai`` provider against ``make run``'s gateway talks WebSocket mode, not HTTP: a
``generate: false`` prewarm, then every turn of the task on one connection (``previous_response_id`` over
``store: false``), and ``codex exec resume`` on a new connection with the whole history."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clients import agents
from tests.clients.codex import Codex, write_openai_config
from tests.clients.conftest import Stack

pytestmark = pytest.mark.clients


def _since(stack: Stack, offset: int) -> list[str]:
    return stack.gateway.log_text()[offset:].splitlines()


def test_codex_runs_its_task_and_resume_over_websocket(codex_binary: Path, tmp_path: Path, fresh: Stack) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "notes.txt").write_text(agents.ORIGINAL)
    write_openai_config(tmp_path / "codex-home", f"{fresh.gateway.url}/v1", "gpt-5.5")
    codex = Codex(home=tmp_path / "codex-home", workdir=workdir)
    start = len(fresh.gateway.log_text())

    first = codex.exec(agents.TASK_PROMPT)
    task_log = _since(fresh, start)
    resumed_at = len(fresh.gateway.log_text())
    second = codex.resume(first.thread_id, agents.RESUME_PROMPT)
    resume_log = _since(fresh, resumed_at)

    assert first.returncode == 0, first.describe()
    assert second.returncode == 0, second.describe()
    assert (workdir / "notes.txt").read_text() == agents.PATCHED
    assert first.final_message == agents.FINAL_TEXT
    assert second.final_message == agents.resume_answer(2)
    assert not [e for e in first.items("error") if "WebSocket" in e["message"]]  # no fallback to HTTP
    for log in (task_log, resume_log):
        assert not [line for line in log if "POST /v1/responses" in line]
        assert len([line for line in log if "websocket opened" in line]) == 1
    # The prewarm and three model turns, of which only the turns reached the model
    # (closing is logged once Codex has gone, so possibly after the resume began)
    assert any("websocket closed after 4 responses" in line for line in _since(fresh, start))
    assert [r["model"] for r in fresh.upstream.requests] == ["gpt-5.5"] * 4
