"""Codex's models manager against ``GET /v1/models``: it asks with ``client_version`` and accepts the reply.

Codex refreshes its catalog from a provider only when the provider's key comes from a command (or a ChatGPT
login), so the provider here gets its key from a script. ``codex debug models`` prints the catalog Codex ends
up with; it writes ``models_cache.json`` only when the reply decoded.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import Stack

pytestmark = pytest.mark.clients


def _codex(binary: Path, home: Path, *args: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEX_", "AWS_"))}
    done = subprocess.run(
        [str(binary), "debug", "models", *args],
        cwd=home,
        env={**env, "CODEX_HOME": str(home), "NO_COLOR": "1"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_codex_accepts_the_model_listing_and_keeps_its_own_metadata(
    codex_binary: Path, fresh: Stack, tmp_path: Path
) -> None:
    home = tmp_path / "codex-home"
    home.mkdir()
    token = tmp_path / "token.sh"
    token.write_text("#!/bin/sh\necho client-key\n")
    token.chmod(0o755)
    proxy = fresh.proxy()
    with proxy.serve() as url:
        (home / "config.toml").write_text(
            'model = "gpt-4o-mini"\n'
            'model_provider = "gateway"\n\n'
            "[model_providers.gateway]\n"
            'name = "Responses gateway"\n'
            f'base_url = "{url}/v1"\n'
            'wire_api = "responses"\n\n'
            "[model_providers.gateway.auth]\n"
            f'command = "{token}"\n'
        )
        catalog = _codex(codex_binary, home)

    [asked] = [exchange for exchange in proxy.exchanges if exchange.path.startswith("/v1/models")]
    assert asked.method == "GET" and asked.path.startswith("/v1/models?client_version=")
    assert asked.headers.get("authorization") == "Bearer client-key"
    assert asked.status == 200
    # decoded (the cache is written only then), and Codex kept its built-in catalog
    assert json.loads((home / "models_cache.json").read_text())["models"] == []
    bundled = _codex(codex_binary, home, "--bundled")
    assert [model["slug"] for model in catalog["models"]] == [model["slug"] for model in bundled["models"]]
