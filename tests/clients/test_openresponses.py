"""The Open Responses compliance cases against ``make run``'s gateway, over Chat Completions and Bedrock.

Their runner (TypeScript, run with bun) cannot be installed in CI (it is not published on npm and CI has no
GitHub access) and its repository states no license, so the cases and the schema rules are re-expressed in
Python under ``tests/clients/openresponses/`` (see its README for the commits they follow).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.clients.conftest import Stack
from tests.clients.openresponses.cases import CASES, Client
from tests.clients.openresponses.models import bedrock_model, chat_model
from tests.fakes.bedrock import CLAUDE

pytestmark = pytest.mark.clients

ROUTES = {"chat": "gpt-4o-mini", "bedrock": f"bedrock/{CLAUDE}"}
KNOWN_GAPS: dict[tuple[str, str], str] = {}
"""``(case, route) -> reason`` for cases the gateway fails today (strict xfail: they flip when fixed)."""


def _params() -> Iterator[object]:
    for route in ROUTES:
        for case in CASES:
            reason = KNOWN_GAPS.get((case, route))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(case, route, id=f"{case}-{route}", marks=marks)


@pytest.fixture
def client(fresh: Stack) -> Iterator[Client]:
    fresh.upstream.policy = chat_model
    fresh.bedrock.policy = bedrock_model
    with httpx.Client(timeout=30, trust_env=False, headers={"authorization": "Bearer compliance"}) as http:
        yield Client(f"{fresh.gateway.url}/v1", "", http)


@pytest.mark.parametrize(("case", "route"), list(_params()))
def test_open_responses_compliance(client: Client, case: str, route: str) -> None:
    client.model = ROUTES[route]

    assert CASES[case](client) == []
