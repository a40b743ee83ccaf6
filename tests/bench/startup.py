"""Cold start (fresh interpreters importing the Lambda handler) and the Lambda bundle's zipped size."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.procs import ROOT, clean_env
from tests.bench.stats import summary

HEAVY = ("openai", "litellm", "boto3", "botocore", "httpx", "uvicorn", "moto", "aws_xray_sdk")

_PROBE = """
import json, sys, time
start = time.perf_counter()
import gateway.handlers.api
imported = time.perf_counter() - start
loaded = [m for m in sys.argv[1:] if m in sys.modules]
start = time.perf_counter()
from gateway.api.deps import build_services
build_services()
services = time.perf_counter() - start
print(json.dumps({"import_s": imported, "services_s": services,
                  "loaded": loaded}))
"""
"""Import of the handler module (which builds the app and the Mangum adapter), then what the first request adds:
``build_services()`` (boto3 and its client), which the app defers to the first request."""


def _probe(env: dict[str, str]) -> dict[str, Any]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *HEAVY], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - start
    return result


def cold_start(runs: int) -> dict[str, Any]:
    """Median of ``runs`` fresh processes with bytecode cached (a bundle shipping ``.pyc``), and one with none at
    all (a bundle without ``.pyc``: Lambda's read-only file system means every cold start compiles again)."""
    with tempfile.TemporaryDirectory(prefix="bench-pyc-") as cache, tempfile.TemporaryDirectory() as empty:
        cached = clean_env(PYTHONPYCACHEPREFIX=cache)
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        _probe(cached)  # fills the cache
        probes = [_probe(cached) for _ in range(runs)]
        uncompiled = clean_env(PYTHONPYCACHEPREFIX=empty, PYTHONDONTWRITEBYTECODE="1")
        no_pyc = _probe(uncompiled)
    return {
        "runs": runs,
        "import_ms": {k: v * 1000.0 for k, v in summary([p["import_s"] for p in probes]).items()},
        "first_request_services_ms": {k: v * 1000.0 for k, v in summary([p["services_s"] for p in probes]).items()},
        "process_ms": {k: v * 1000.0 for k, v in summary([p["process_s"] for p in probes]).items()},
        "import_no_pyc_ms": no_pyc["import_s"] * 1000.0,
        "loaded_after_import": probes[0]["loaded"],
        "slowest_imports": slowest_imports(),
    }


def slowest_imports(top: int = 12) -> list[dict[str, Any]]:
    """``-X importtime`` of the handler import: top-level packages by their own (self) time, with bytecode."""
    with tempfile.TemporaryDirectory(prefix="bench-pyc-") as cache:
        env = clean_env(PYTHONPYCACHEPREFIX=cache)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        command = [sys.executable, "-X", "importtime", "-c", "import gateway.handlers.api"]
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True)  # fills the cache
        trace = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stderr
    by_package: dict[str, int] = {}
    for line in trace.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
        package = name.split(".")[0]
        by_package[package] = by_package.get(package, 0) + int(own)
    ranked = sorted(by_package.items(), key=lambda pair: -pair[1])[:top]
    return [{"package": name, "self_ms": micros / 1000.0} for name, micros in ranked]


def bundle_size(timeout: float) -> dict[str, Any]:
    """``make bundle`` (from ``infra/infra.mk``) and the size of ``build/lambda.zip``; n/a without the target."""
    zip_path = ROOT / "build" / "lambda.zip"
    has_target = subprocess.run(["make", "-n", "bundle"], cwd=ROOT, capture_output=True, text=True).returncode == 0
    if not has_target:
        return {"zip_bytes": None, "note": "no `make bundle` target (infra/infra.mk); " + _stale(zip_path)}
    try:
        done = subprocess.run(["make", "bundle"], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"zip_bytes": None, "note": f"`make bundle` took longer than {timeout:.0f} s"}
    if done.returncode != 0 or not zip_path.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"zip_bytes": None, "note": "`make bundle` failed: " + " / ".join(tail)}
    return {"zip_bytes": zip_path.stat().st_size, "unzipped_bytes": _unzipped(zip_path), "note": "make bundle"}


def _unzipped(path: Path) -> int:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())


def _stale(path: Path) -> str:
    if not path.exists():
        return "no build/lambda.zip either"
    age = (time.time() - path.stat().st_mtime) / 60.0
    return f"an existing build/lambda.zip (not rebuilt, {age:.0f} min old) is {path.stat().st_size / 2**20:.2f} MiB"
