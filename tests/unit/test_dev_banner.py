"""``make run``'s start-up banner says what is missing before the first request fails (issue 13)."""

from __future__ import annotations

import socket

from gateway.dev.server import banner, upstream_unreachable
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


def test_open_auth_says_how_to_make_a_key() -> None:
    text = banner(Settings(), ENDPOINT)
    [auth] = [line for line in text.splitlines() if line.strip().startswith("auth")]
    assert "OFF" in auth
    assert "make keys" in text


def test_an_upstream_that_does_not_answer_is_named_at_start_up() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connecting is refused
        settings = Settings(openai_api_key="x", openai_base_url=f"http://127.0.0.1:{port}/v1")
        problem = upstream_unreachable(settings)
    assert problem is not None
    text = banner(settings, ENDPOINT, unreachable=problem)
    [warning] = [line for line in _warnings(text) if "does not answer" in line]
    assert f"127.0.0.1:{port}" in warning
    assert "OPENAI_BASE_URL" in text[text.index(warning) :]


def test_a_listening_upstream_is_not_probed_further() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        assert upstream_unreachable(Settings(openai_api_key="x", openai_base_url=f"http://127.0.0.1:{port}/v1")) is None
