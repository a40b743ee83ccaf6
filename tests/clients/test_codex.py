"""The Codex CLI, unmodified, runs a three-step task through the gateway and resumes it.

Each case is one model route: a model Codex has no metadata for (its "fallback" tools: apply_patch goes
through the shell), a ``bedrock/...claude...`` model over ConverseStream, and two from Codex's own catalog:
``gpt-5.5`` (a ``custom`` free-form apply_patch tool, ``tool_search``) and ``gpt-6.2-sol`` (code mode: its
tools arrive in an ``additional_tools`` input item, and the model calls one namespaced ``exec`` tool with
JavaScript). The scripted models in ``agents.py`` drive: shell command -> apply_patch -> final answer; then
``codex exec resume`` asks a follow-up. More runs: a turn long enough to make Codex compact (locally, and
remotely on Bedrock), and Codex's built-in ``openai`` provider pointed at the gateway.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from tests.clients import agents
from tests.clients.codex import Codex, CodexRun, write_config, write_openai_config
from tests.clients.conftest import Stack, report
from tests.clients.proxy import RecordingProxy
from tests.fakes.bedrock import CLAUDE

pytestmark = pytest.mark.clients

Json = dict[str, Any]


@dataclass(frozen=True)
class Case:
    model: str
    route: Literal["chat", "bedrock"]
    unsupported: tuple[str, ...]
    """What the gateway refused of this model's requests before issue 10 (tool or item types, or parameter
    paths; each refusal was the whole request): the peeled run checks that nothing else is refused."""
    patch_tool: Literal["shell", "custom", "code"]
    """How the model's calls reach Codex when nothing is stripped: apply_patch through the shell or as its own
    custom tool; or "code" mode (gpt-6 family), where every call is JavaScript for one namespaced ``exec``."""

    @property
    def id(self) -> str:
        return f"{self.route}-{self.model.split('/')[0]}"


CASES = [
    Case("gpt-4o-mini", "chat", ("namespace", "web_search"), "shell"),
    Case(f"bedrock/{CLAUDE}", "bedrock", ("namespace", "web_search"), "shell"),
    Case("gpt-5.5", "chat", ("custom", "tool_search", "web_search"), "custom"),
    Case("gpt-6.2-sol", "chat", ("additional_tools",), "code"),
]


@dataclass
class Session:
    first: CodexRun
    second: CodexRun | None
    workdir: Path
    proxy: RecordingProxy


def run_session(binary: Path, tmp_path: Path, stack: Stack, case: Case, *, peel: bool) -> Session:
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "notes.txt").write_text(agents.ORIGINAL)
    proxy = stack.proxy(peel=peel)
    with proxy.serve() as url:
        write_config(tmp_path / "codex-home", f"{url}/v1", case.model)
        codex = Codex(home=tmp_path / "codex-home", workdir=workdir)
        first = codex.exec(agents.TASK_PROMPT)
        second = codex.resume(first.thread_id, agents.RESUME_PROMPT) if first.returncode == 0 else None
    report(f"codex-{case.id}-{'peeled' if peel else 'as-sent'}", proxy, stack)
    return Session(first, second, workdir, proxy)


def _items(request: Json | None, kind: str) -> list[Json]:
    return [item for item in (request or {}).get("input", []) if item.get("type") == kind]


def assert_task_done(session: Session, stack: Stack, case: Case) -> None:
    first, second = session.first, session.second
    # The client finished both runs, on one thread
    assert first.returncode == 0, first.describe()
    assert second is not None
    assert second.returncode == 0, second.describe()
    assert second.thread_id == first.thread_id
    # Real effects: the command ran, the file was patched, the answers were printed
    assert (session.workdir / "ran.txt").read_text() == "shell ran\n"
    assert (session.workdir / "notes.txt").read_text() == agents.PATCHED
    [command, *_] = first.items("command_execution")
    assert command["exit_code"] == 0
    assert "status: draft" in command["aggregated_output"]
    [change] = first.items("file_change")
    assert [(Path(c["path"]).name, c["kind"]) for c in change["changes"]] == [("notes.txt", "update")]
    assert first.final_message == agents.FINAL_TEXT
    assert second.final_message == agents.resume_answer(2)
    # What the gateway received: four turns, each answered, the tool outputs echoed back by the client
    exchanges = session.proxy.exchanges
    assert [(e.method, e.path.split("?")[0], e.status) for e in exchanges] == [("POST", "/v1/responses", 200)] * 4
    requests = [e.body for e in exchanges]
    output_kind = "custom_tool_call_output" if case.patch_tool == "code" else "function_call_output"
    assert [o["call_id"] for o in _items(requests[1], output_kind)] == [agents.SHELL_CALL]
    assert agents.RESUME_PROMPT in str((requests[3] or {}).get("input", [])[-1:])
    assert_forwarded(stack, case)


def assert_forwarded(stack: Stack, case: Case) -> None:
    """What reached the model: four calls to the right model, the shell's output (and, for Bedrock, the signed
    reasoning before the call) in the second."""
    if case.route == "chat":
        sent = stack.upstream.requests
        assert [r["model"] for r in sent] == [case.model] * 4
        [result] = [m for m in sent[1]["messages"] if m.get("role") == "tool"]
        assert result["tool_call_id"] == agents.SHELL_CALL
        assert "status: draft" in str(result["content"])
        assert {h["authorization"] for h in stack.upstream.headers} == {"Bearer sk-upstream-clients"}
    else:
        assert [model for model, _ in stack.bedrock.calls] == [CLAUDE] * 4
        messages = stack.bedrock.requests[1]["messages"]
        results = [b["toolResult"] for m in messages for b in m["content"] if "toolResult" in b]
        assert [r["toolUseId"] for r in results] == [agents.SHELL_CALL]
        assert "status: draft" in str(results[0]["content"])
        # Claude's signed thinking made the round trip through Codex (store: false, encrypted_content)
        [turn] = [m for m in messages if m["role"] == "assistant"]
        thinking = [b["reasoningContent"]["reasoningText"] for b in turn["content"] if "reasoningContent" in b]
        assert thinking == [{"text": agents.THINKING, "signature": agents.signature(agents.SHELL_CALL)}]


def _refused(refusal: Json) -> str:
    """What a refusal was about: the removed tool's or item's type, else the parameter named."""
    removed = refusal["removed"]
    return str(
        removed["type"] if isinstance(removed, dict) and "type" in removed else refusal["error"]["error"]["param"]
    )


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_codex_runs_a_task_and_resumes(codex_binary: Path, tmp_path: Path, fresh: Stack, case: Case) -> None:
    session = run_session(codex_binary, tmp_path, fresh, case, peel=False)

    assert [e.error for e in session.proxy.exchanges if e.error] == []
    assert_task_done(session, fresh, case)
    requests = [e.body for e in session.proxy.exchanges]
    calls = [(c.get("namespace"), c["name"], c["call_id"]) for c in _items(requests[2], "custom_tool_call")]
    if case.patch_tool == "custom":
        assert calls == [(None, "apply_patch", agents.PATCH_CALL)]
    if case.patch_tool == "code":
        assert calls == [("functions", "exec", agents.SHELL_CALL), ("functions", "exec", agents.PATCH_CALL)]


@pytest.mark.skipif(not os.environ.get("CLIENTS_PEEL"), reason="diagnosis: CLIENTS_PEEL=1 lists every refusal")
@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_codex_works_once_the_refused_tools_are_removed(
    codex_binary: Path, tmp_path: Path, fresh: Stack, case: Case
) -> None:
    """Diagnosis that guards the rest: strip only what the gateway names as unsupported, and everything else
    Codex sends (client_metadata, reasoning, include, echoed items with ids...) must carry the whole task."""
    session = run_session(codex_binary, tmp_path, fresh, case, peel=True)

    refusals = [refusal for exchange in session.proxy.exchanges for refusal in exchange.refusals]
    for refusal in refusals:
        assert refusal["status"] == 400
        assert refusal["error"]["error"]["type"] == "invalid_request_error"
    assert {_refused(r) for r in refusals} <= set(case.unsupported)
    assert_task_done(session, fresh, case)


def test_codex_compacts_a_long_turn_through_the_gateway(codex_binary: Path, tmp_path: Path, fresh: Stack) -> None:
    """A custom provider has no remote compaction: past its token limit Codex asks the model itself for a
    summary (an ordinary /responses request) and carries on from a compacted history."""
    fresh.upstream.policy = agents.compacting_chat_agent
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "notes.txt").write_text(agents.ORIGINAL)
    proxy = fresh.proxy()
    with proxy.serve() as url:
        write_config(tmp_path / "codex-home", f"{url}/v1", "gpt-4o-mini")
        run = Codex(home=tmp_path / "codex-home", workdir=workdir).exec(agents.TASK_PROMPT)
    report("codex-compaction", proxy, fresh)

    assert run.returncode == 0, run.describe()
    assert (workdir / "notes.txt").read_text() == agents.PATCHED
    assert run.final_message == agents.FINAL_TEXT
    exchanges = proxy.exchanges
    assert [e.status for e in exchanges] == [200] * 4
    _, compaction, compacted, final = (e.body or {} for e in exchanges)
    # The compaction request: the whole turn so far, then Codex's summarization prompt
    assert agents.COMPACTION_PROMPT in str(compaction["input"][-1])
    assert [o["call_id"] for o in _items(compaction, "function_call_output")] == [agents.SHELL_CALL]
    # The turn goes on from the summary alone: the shell call is gone from the history
    assert agents.CHECKPOINT in str(compacted["input"])
    assert _items(compacted, "function_call_output") == []
    assert [o["call_id"] for o in _items(final, "function_call_output")] == [agents.PATCH_CALL]
    assert agents.COMPACTION_PROMPT in str(fresh.upstream.requests[1]["messages"][-1])


def test_codex_compacts_remotely_on_bedrock(codex_binary: Path, tmp_path: Path, fresh: Stack) -> None:
    """Remote compaction (what Codex does with OpenAI, and with a provider that declares it): past its token
    limit Codex sends the turn so far ending in a ``compaction_trigger``, keeps the one ``compaction`` item the
    gateway answers with, and carries on from it; the gateway expands it into the checkpoint for Claude."""
    fresh.bedrock.policy = agents.compacting_bedrock_agent
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "notes.txt").write_text(agents.ORIGINAL)
    proxy = fresh.proxy()
    with proxy.serve() as url:
        write_config(tmp_path / "codex-home", f"{url}/v1", f"bedrock/{CLAUDE}", remote_compaction=True)
        run = Codex(home=tmp_path / "codex-home", workdir=workdir).exec(agents.TASK_PROMPT)
    report("codex-remote-compaction", proxy, fresh)

    assert run.returncode == 0, run.describe()
    assert (workdir / "notes.txt").read_text() == agents.PATCHED
    assert run.final_message == agents.FINAL_TEXT
    exchanges = [e.body or {} for e in proxy.exchanges]
    triggered = [body for body in exchanges if body["input"][-1] == {"type": "compaction_trigger"}]
    assert len(triggered) == 1
    after = exchanges[exchanges.index(triggered[0]) + 1]
    # Codex replays the gateway's compaction item instead of the turn's tool round
    (item,) = _items(after, "compaction")
    assert item["encrypted_content"].startswith("gw1.") and _items(after, "function_call_output") == []
    # ...which reached Claude as the checkpoint the summarizer wrote
    summary_request, next_request = fresh.bedrock.requests[1], fresh.bedrock.requests[2]
    assert "checkpoint" in str(summary_request["system"])
    assert agents.CHECKPOINT in str(next_request["messages"]) and "toolResult" not in str(next_request["messages"])


def test_codex_as_the_built_in_openai_provider(codex_binary: Path, tmp_path: Path, fresh: Stack) -> None:
    """``openai_base_url`` = the gateway, no custom provider: Codex talks Responses over WebSocket on
    ``GET /v1/responses`` (WebSocket mode; ``test_codex_websocket.py`` looks at the frames) and finishes the
    task with no fallback to HTTP. No proxy here, so the upgrade reaches the gateway exactly as Codex sends it."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "notes.txt").write_text(agents.ORIGINAL)
    write_openai_config(tmp_path / "codex-home", f"{fresh.gateway.url}/v1", "gpt-5.5")

    started = time.monotonic()
    run = Codex(home=tmp_path / "codex-home", workdir=workdir).exec(agents.TASK_PROMPT)
    elapsed = time.monotonic() - started

    assert run.returncode == 0, run.describe()
    assert (workdir / "notes.txt").read_text() == agents.PATCHED
    assert run.final_message == agents.FINAL_TEXT
    assert [r["model"] for r in fresh.upstream.requests] == ["gpt-5.5"] * 3
    fallbacks = [e["message"] for e in run.items("error") if "WebSocket" in e["message"]]
    assert fallbacks == []
    print(f"openai provider over WebSocket: {elapsed:.1f} s")
