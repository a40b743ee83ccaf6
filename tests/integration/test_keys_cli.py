"""``python -m gateway.keys``: create prints the key once, list never shows keys, revoke disables."""

from __future__ import annotations

import pytest

from gateway import keys
from gateway.settings import get_settings
from tests.conftest import TABLE, AppFactory


def test_create_list_revoke(
    aws: None, make_client: AppFactory, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RESPONSES_TABLE_NAME", TABLE)
    get_settings.cache_clear()

    assert keys.main(["create", "--tenant", "acme"]) == 0
    created = capsys.readouterr().out.splitlines()
    key_id, secret = created[0].removeprefix("key id: "), created[2]
    assert secret.startswith("sk-gw-") and "not shown again" in created[3]

    assert keys.main(["list"]) == 0
    listing = capsys.readouterr().out
    assert key_id in listing and "acme" in listing and "active" in listing and secret not in listing

    client = make_client(require_auth=True, key_cache_seconds=0)
    headers = {"authorization": f"Bearer {secret}"}
    assert client.post("/v1/responses", json={"model": "m", "input": "hi"}, headers=headers).status_code == 200

    assert keys.main(["revoke", key_id]) == 0
    assert client.post("/v1/responses", json={"model": "m", "input": "hi"}, headers=headers).status_code == 401
    assert keys.main(["revoke", "000000000000"]) == 1


# An invalid tenant, like every other failure, is one line on stderr: test_keys_errors.py.
