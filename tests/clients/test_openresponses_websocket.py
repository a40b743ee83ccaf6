"""The Open Responses WebSocket compliance cases against ``make run``'s gateway, over Chat Completions and Bedrock.

Re-expressed in Python like the HTTP ones (``tests/clients/openresponses/websocket_cases.py``; see its README):
each case opens real WebSocket connections (the ``websockets`` client) to ``GET /v1/responses``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.clients.conftest import Stack
from tests.clients.openresponses.models import bedrock_model, chat_model
from tests.clients.openresponses.websocket_cases import CASES, Client
from tests.fakes.bedrock import CLAUDE

pytestmark = pytest.mark.clients

ROUTES = {"chat": "gpt-4o-mini", "bedrock": f"bedrock/{CLAUDE}"}


@pytest.fixture
def client(fresh: Stack) -> Iterator[Client]:
    fresh.upstream.policy = chat_model
    fresh.bedrock.policy = bedrock_model
    with httpx.Client(timeout=30, trust_env=False, headers={"authorization": "Bearer compliance"}) as http:
        yield Client(f"{fresh.gateway.url}/v1", "", http)


@pytest.mark.parametrize("route", list(ROUTES))
@pytest.mark.parametrize("case", list(CASES))
def test_open_responses_websocket_compliance(client: Client, case: str, route: str) -> None:
    client.model = ROUTES[route]

    assert CASES[case](client) == []
