"""Run the real Codex CLI (npm ``@openai/codex``, installed by ``make clients``) against a base URL.

Codex keeps its default configuration; the only file written is ``$CODEX_HOME/config.toml`` defining one
model provider (keys from codex-rs ``model-provider-info``: ``base_url``, ``env_key``, ``wire_api``) and
turning off the two features that reach the internet on their own (``OFFLINE``).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLIENTS = Path(__file__).resolve().parent
BINARY = CLIENTS / "node_modules" / ".bin" / "codex"
PROVIDER = "gateway"
KEY_VARIABLE = "GATEWAY_API_KEY"
RUN_SECONDS = 120.0

Json = dict[str, Any]


OFFLINE = (
    # Codex's own calls to the internet, off: tests reach loopback only. The plugin marketplace clones
    # github.com/openai/plugins and asks api.github.com and chatgpt.com; analytics go to ab.chatgpt.com.
    # Neither changes what is sent to the model provider.
    "\n[features]\nplugins = false\n\n[analytics]\nenabled = false\n"
)


def write_config(home: Path, base_url: str, model: str, *, remote_compaction: bool = False) -> Path:
    """A custom provider; ``remote_compaction`` opts it into Codex's remote compaction (a ``compaction_trigger``
    item on an ordinary request, as for OpenAI) past a low auto-compaction limit."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    compaction = "model_auto_compact_token_limit = 2000\n" if remote_compaction else ""
    capabilities = (
        f'\n[model_providers.{PROVIDER}.capabilities]\nremote_compaction = "v2"\n' if remote_compaction else ""
    )
    config.write_text(
        f'model = "{model}"\n'
        f'model_provider = "{PROVIDER}"\n' + compaction + "\n"
        f"[model_providers.{PROVIDER}]\n"
        'name = "Responses gateway"\n'
        f'base_url = "{base_url}"\n'
        f'env_key = "{KEY_VARIABLE}"\n'
        'wire_api = "responses"\n'
        # A refusal should show up once in the record, not five times over Codex's backoff.
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n" + capabilities + OFFLINE
    )
    return config


def write_openai_config(home: Path, base_url: str, model: str) -> Path:
    """The other common setup: Codex's built-in ``openai`` provider pointed at the gateway (key from
    ``CODEX_API_KEY``). Codex then treats it as OpenAI: WebSocket transport first, remote compaction."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    config.write_text(f'model = "{model}"\nopenai_base_url = "{base_url}"\n' + OFFLINE)
    return config


@dataclass(frozen=True)
class CodexRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def events(self) -> list[Json]:
        """``codex exec --json`` events (``thread.started``, ``item.completed``, ``turn.failed``...)."""
        found = []
        for line in self.stdout.splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
        return found

    def items(self, kind: str) -> list[Json]:
        return [e["item"] for e in self.events if e.get("type") == "item.completed" and e["item"]["type"] == kind]

    @property
    def thread_id(self) -> str:
        found: str = next(e["thread_id"] for e in self.events if e.get("type") == "thread.started")
        return found

    @property
    def final_message(self) -> str | None:
        messages = self.items("agent_message")
        return messages[-1]["text"] if messages else None

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr[-4000:]}"


@dataclass(frozen=True)
class Codex:
    """``codex exec`` in ``workdir`` with its state in ``home``; commands run unsandboxed (the workdir is a
    throw-away temp folder, and Linux sandboxes need namespaces a CI container may not grant)."""

    home: Path
    workdir: Path

    def exec(self, prompt: str, *extra: str) -> CodexRun:
        return self._run(["exec", *self._common(), *extra, prompt])

    def resume(self, thread_id: str, prompt: str, *extra: str) -> CodexRun:
        return self._run(["exec", "resume", *self._common(), *extra, thread_id, prompt])

    def _common(self) -> list[str]:
        return ["--json", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]

    def _run(self, args: list[str]) -> CodexRun:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEX_", "AWS_"))},
            "CODEX_HOME": str(self.home),
            KEY_VARIABLE: "client-key",
            "CODEX_API_KEY": "client-key",
            "NO_COLOR": "1",
        }
        done = subprocess.run(
            [str(BINARY), *args],
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS,
            check=False,
        )
        return CodexRun(done.returncode, done.stdout, done.stderr)
