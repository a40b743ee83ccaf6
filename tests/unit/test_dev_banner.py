"""``make run``'s start-up banner says what is missing before the first request fails (issue 13)."""

from __future__ import annotations

from gateway.dev.server import banner
from gateway.settings import Settings

ENDPOINT = "http://127.0.0.1:5000"


def _warnings(text: str) -> list[str]:
    return [line for line in text.splitlines() if "!!!" in line]


def test_no_upstream_configured_names_every_way_to_configure_one() -> None:
    text = banner(Settings(openai_api_key=None), ENDPOINT)
    [upstream] = [line for line in _warnings(text) if "upstream" in line.lower() or "OPENAI" in line]
    for setting in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "bedrock/"):
        assert setting in text[text.index(upstream) :]


def test_a_configured_upstream_raises_no_warning() -> None:
    for settings in (
        Settings(openai_api_key="sk-x"),
        Settings(openai_api_key=None, openai_base_url="http://127.0.0.1:11434/v1"),
    ):
        assert not [line for line in _warnings(banner(settings, ENDPOINT)) if "OPENAI" in line]
