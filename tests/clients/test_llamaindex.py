"""LlamaIndex, as released and unmodified, calls a tool through the gateway in front of a strict upstream.

LlamaIndex's OpenAI integration requires ``openai<3`` while the main venv tests the current SDK, so it runs as a
real client in its own venv (``tests/clients/.venv-llamaindex``, built by ``make clients`` from
``llamaindex/requirements.txt``): ``llamaindex/drive.py`` runs ``OpenAIResponses.chat_with_tools`` with a
``FunctionTool`` whose function has an optional parameter, runs the tool, sends its result back and prints each
step as a JSON line.

LlamaIndex leaves ``strict`` out and derives a schema strict mode rejects (``unit`` optional, the object open).
The gateway must offer it upstream with ``strict: false``; the upstream here refuses a strict schema strict mode
rejects, as OpenAI does (``tests/fakes/strict.py``), so otherwise LlamaIndex gets a 400 and raises.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import Stack, report
from tests.fakes import strict
from tests.fakes.upstream import Reply, text_reply, tool_reply

Json = dict[str, Any]

FOLDER = Path(__file__).resolve().parent / "llamaindex"
VENV = FOLDER.parent / ".venv-llamaindex"
PYTHON = VENV / "bin" / "python"
INSTALLED = VENV / ".installed"
"""Written by the Makefile once ``requirements.txt`` is installed."""

# A mark, not a fixture, so a missing venv skips before the package's gateway is started for nothing.
pytestmark = [
    pytest.mark.clients,
    pytest.mark.skipif(not INSTALLED.exists(), reason="LlamaIndex venv not built: run `make clients`"),
]
RUN_SECONDS = 90.0
MODEL = "gpt-4o-mini"
WEATHER_CALL = ("call_weather", "get_weather", '{"city": "Paris"}')
"""The model calls the tool with only the required argument; the optional one keeps its default."""
TOOL_OUTPUT = "Sunny, 21 celsius in Paris."
"""What the driver's ``get_weather`` returns for Paris with the default unit."""
FINAL = "It is sunny in Paris, 21 degrees."


def weather_agent(body: Json) -> Reply:
    """OpenAI's strict-mode refusal first; then a tool call, or the final answer once the tool result is back."""
    refused = strict.refusal(body)
    if refused is not None:
        return Reply(status=400, body=refused)
    if body["messages"][-1].get("role") == "tool":
        return text_reply(FINAL)
    return tool_reply(WEATHER_CALL)


@dataclass(frozen=True)
class DriverRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def steps(self) -> list[Json]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]

    def describe(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr[-4000:]}"


def drive(base_url: str) -> DriverRun:
    # The guard folder on PYTHONPATH makes the driver's interpreter loopback-only (guard/sitecustomize.py).
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "AWS_", "TIKTOKEN_", "NLTK_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    done = subprocess.run(
        [str(PYTHON), str(FOLDER / "drive.py"), base_url, "client-key", MODEL],
        env={**inherited, "PYTHONPATH": str(FOLDER / "guard")},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    return DriverRun(done.returncode, done.stdout, done.stderr)


def _tools_offered(request: Json) -> dict[str, Json]:
    return {tool["function"]["name"]: tool["function"] for tool in request["tools"]}


def test_llamaindex_chat_with_tools_round_trip(fresh: Stack) -> None:
    # Given a strict upstream whose model calls get_weather, then answers once given the result
    fresh.upstream.policy = weather_agent
    proxy = fresh.proxy()

    # When LlamaIndex asks, runs the tool it is told to call, and sends the result back
    with proxy.serve() as url:
        run = drive(f"{url}/v1")
    report("llamaindex", proxy, fresh)

    # Then LlamaIndex parsed the call with the optional argument left out, and got the final answer
    assert run.returncode == 0, run.describe()
    assert run.steps == [
        {"step": "tool_call", "id": "call_weather", "name": "get_weather", "kwargs": {"city": "Paris"}},
        {"step": "tool_output", "content": TOOL_OUTPUT},
        {"step": "final", "content": FINAL},
    ]
    assert "loopback guard" not in run.stderr, run.stderr  # nothing tried to reach beyond loopback
    # And LlamaIndex sent the tool with strict left out, and the output back under the call's id
    exchanges = proxy.exchanges
    assert [(e.method, e.path, e.status) for e in exchanges] == [("POST", "/v1/responses", 200)] * 2
    first, second = (e.body or {} for e in exchanges)
    [sent_tool] = first["tools"]
    assert sent_tool["name"] == "get_weather"
    assert sent_tool.get("strict") is None
    outputs = [item for item in second["input"] if item.get("type") == "function_call_output"]
    assert [(o["call_id"], o["output"]) for o in outputs] == [("call_weather", TOOL_OUTPUT)]
    # And the upstream was offered the open schema non-strict (a strict one would have been refused)
    sent = fresh.upstream.requests
    assert [r["model"] for r in sent] == [MODEL] * 2
    offered = _tools_offered(sent[0])["get_weather"]
    assert offered["strict"] is False
    assert offered["parameters"]["properties"]["unit"]["default"] == "celsius"
    assert offered["parameters"]["required"] == ["city"]
    assert offered["parameters"].get("additionalProperties") is not False
    # And the second turn carried the call and its output back
    history = sent[1]["messages"]
    assert history[-1] == {"role": "tool", "tool_call_id": "call_weather", "content": TOOL_OUTPUT}
    [call] = history[-2]["tool_calls"]
    assert call["id"] == "call_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
