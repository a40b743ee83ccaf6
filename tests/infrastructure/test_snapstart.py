"""SnapStart restore hooks: the runtime's hook library and the web adapter's HTTP hook both reseed ``random``."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import types
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from gateway import snapstart
from gateway.api.app import create_app
from gateway_infra.config import REPO_ROOT
from gateway_infra.functions import AFTER_RESTORE_PATH, WEB_ADAPTER_ENVIRONMENT


def _replay_after(hook: Callable[[], object]) -> tuple[list[float], list[float]]:
    """Two copies restored from one snapshot: the same generator state, then the hook in each."""
    random.seed(1234)
    snapshot = random.getstate()
    draws = []
    for _ in range(2):
        random.setstate(snapshot)
        hook()
        draws.append([random.random() for _ in range(4)])
    return draws[0], draws[1]


def test_without_the_hook_restored_copies_replay_one_sequence() -> None:
    first, second = _replay_after(lambda: None)
    assert first == second  # what the hook exists to prevent


def test_after_restore_gives_each_copy_its_own_sequence() -> None:
    first, second = _replay_after(snapstart.after_restore)
    assert first != second


def test_register_hands_the_hook_to_the_runtimes_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    registered: list[Callable[[], None]] = []
    library = types.ModuleType("snapshot_restore_py")
    library.register_after_restore = registered.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", library)

    assert snapstart.register() is True
    assert registered == [snapstart.after_restore]


def test_register_is_a_no_op_outside_lambdas_python_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # import fails, as it does off Lambda
    assert snapstart.register() is False


def test_the_web_adapters_hook_route_exists_only_when_the_adapter_calls_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(snapstart.AFTER_RESTORE_PATH_VARIABLE, raising=False)
    with TestClient(create_app()) as client:
        assert client.post(AFTER_RESTORE_PATH).status_code == 404

    # the path the stack gives the adapter (functions.WEB_ADAPTER_ENVIRONMENT)
    monkeypatch.setenv(
        snapstart.AFTER_RESTORE_PATH_VARIABLE, WEB_ADAPTER_ENVIRONMENT[snapstart.AFTER_RESTORE_PATH_VARIABLE]
    )
    calls: list[None] = []
    monkeypatch.setattr(snapstart, "after_restore", lambda: calls.append(None))
    with TestClient(create_app()) as client:
        answer = client.post(AFTER_RESTORE_PATH)
    assert answer.status_code == 204  # a 2xx, or the adapter fails the restore
    assert calls == [None]


def test_prepare_runs_only_in_the_init_lambda_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    prepared: list[None] = []
    monkeypatch.setattr(snapstart, "prepare", lambda: prepared.append(None))

    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
    snapstart.register()
    assert prepared == []  # an on-demand cold start imports only what it uses

    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", snapstart.SNAPSHOT_INIT)
    snapstart.register()
    assert prepared == [None]


def test_prepare_loads_code_and_models_but_makes_no_client_and_reads_no_credentials() -> None:
    # In a fresh interpreter, with client creation and credential lookup booby-trapped
    script = """
import sys, botocore.session
def refuse(*args, **kwargs):
    raise AssertionError("prepare() must not make clients or read credentials before the snapshot")
botocore.session.Session.create_client = refuse
botocore.session.Session.get_credentials = refuse
from gateway import snapstart
snapstart.prepare()
loaded = set(sys.modules)
assert {"gateway.composition", "gateway.providers.bedrock.provider", "gateway.store.factory", "aiohttp"} <= loaded
assert not {"gateway.dev.server", "gateway.handlers.api", "moto"} & loaded, loaded
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT / "functions"), "AWS_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.strip() == "ok", result.stderr
