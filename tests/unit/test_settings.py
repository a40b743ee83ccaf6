"""Settings: secrets never show in a repr (settings objects end up in logs and tracebacks)."""

from __future__ import annotations

from gateway.settings import Settings


def test_upstream_and_sealing_keys_stay_out_of_the_settings_repr() -> None:
    settings = Settings(openai_api_key="sk-upstream-secret-1234", sealing_keys="sealing-key-" + "x" * 32)
    shown = repr(settings)
    assert "sk-upstream-secret" not in shown and "sealing-key-" not in shown
    assert "table_name='responses'" in shown  # the repr itself still says something useful
