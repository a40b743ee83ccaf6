"""Real clients, unmodified, against the gateway as ``make run`` serves it (``make clients`` installs them).

    client ──HTTP──> RecordingProxy ──HTTP──> python -m gateway.dev ──HTTP──> ChatAgentUpstream (Chat Completions)
                                                     └──────────HTTP──> BedrockEndpoint (ConverseStream)

One gateway process per run of this package; each test gets empty records (upstream, Bedrock, proxy).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clients.agents import ChatAgentUpstream, bedrock_agent, chat_agent
from tests.clients.codex import BINARY
from tests.clients.gateway import Gateway, dev_gateway
from tests.clients.proxy import RecordingProxy
from tests.fakes.bedrock_server import BedrockEndpoint

REPORT_DIR = os.environ.get("CLIENTS_REPORT_DIR")
"""When set, each test writes what the client sent and the gateway answered there (the findings' source)."""


@dataclass
class Stack:
    gateway: Gateway
    upstream: ChatAgentUpstream
    bedrock: BedrockEndpoint

    def proxy(self, *, peel: bool = False) -> RecordingProxy:
        return RecordingProxy(self.gateway.url, peel=peel)


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    upstream = ChatAgentUpstream()
    bedrock = BedrockEndpoint(bedrock_agent)
    log = tmp_path_factory.mktemp("gateway") / "gateway-dev.log"
    with ExitStack() as stack:
        upstream_url = stack.enter_context(upstream.serve())
        bedrock_url = stack.enter_context(bedrock.serve())
        gateway = stack.enter_context(
            dev_gateway(
                log,
                OPENAI_BASE_URL=upstream_url,
                OPENAI_API_KEY="sk-upstream-clients",
                AWS_ENDPOINT_URL_BEDROCK_RUNTIME=bedrock_url,
            )
        )
        yield Stack(gateway, upstream, bedrock)


@pytest.fixture
def fresh(stack: Stack) -> Stack:
    """The shared stack with this test's records only."""
    stack.upstream.requests.clear()
    stack.upstream.headers.clear()
    stack.bedrock.calls.clear()
    stack.bedrock.headers.clear()
    stack.upstream.policy = chat_agent
    stack.bedrock.policy = bedrock_agent
    return stack


@pytest.fixture
def codex_binary() -> Path:
    if not BINARY.exists():
        pytest.skip("Codex CLI not installed: run `make clients`")
    return BINARY


def report(name: str, proxy: RecordingProxy, stack: Stack) -> None:
    """Write the exchanges and the upstream's record to ``CLIENTS_REPORT_DIR`` (no-op when unset)."""
    if not REPORT_DIR:
        return
    folder = Path(REPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "exchanges": [exchange.summary() for exchange in proxy.exchanges],
        "chat_upstream": stack.upstream.requests,
        "bedrock": [{"model_id": model, "body": body} for model, body in stack.bedrock.calls],
    }
    (folder / f"{name}.json").write_text(json.dumps(record, indent=1))
