"""The bundle builder's pure parts: what ships, the SDK's trimming, how the zip is written. (Building it needs
PyPI.)"""

from __future__ import annotations

import ctypes
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from gateway_infra.config import REPO_ROOT
from gateway_infra.tools.bundle import STRIP_TOOLS, _strip_debug, runtime_requirements, write_zip
from gateway_infra.tools.sdk_trim import SERVICES, trim_sdk

CLIENT = re.compile(r"""boto3\.client\(\s*["']([a-z0-9-]+)["']""")


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


def test_bundle_ships_the_runtime_dependencies_and_its_own_aws_sdk() -> None:
    names = _names(runtime_requirements(REPO_ROOT / "pyproject.toml"))

    # the runtime's boto3 may predate Bedrock fields the gateway sends, so the bundle brings its own
    assert {"boto3", "fastapi", "mangum", "uvicorn"} <= names
    assert not names & {"openai", "litellm"}


def test_the_sdk_floor_knows_every_bedrock_field_the_gateway_sends() -> None:
    # outputConfig and toolSpec.strict: botocore 1.42.42; serviceTier: 1.40.76 (boto3 and botocore share numbers)
    [boto3] = [r for r in runtime_requirements(REPO_ROOT / "pyproject.toml") if _names([r]) == {"boto3"}]
    floor = tuple(int(part) for part in re.findall(r">=\s*([\d.]+)", boto3)[0].split("."))
    assert floor >= (1, 42, 42)


def test_every_client_the_gateway_creates_keeps_its_service_model() -> None:
    created = set()
    for source in (REPO_ROOT / "functions" / "gateway").rglob("*.py"):
        created |= set(CLIENT.findall(source.read_text()))

    assert created, "expected boto3.client(...) calls in functions/gateway"
    assert created <= SERVICES, created - SERVICES


def _sdk(root: Path, services: list[str]) -> Path:
    for service in services:
        (root / "botocore/data" / service / "2020-01-01").mkdir(parents=True)
        (root / "botocore/data" / service / "2020-01-01/service-2.json.gz").write_bytes(b"\0")
    (root / "botocore/data/endpoints.json").write_text("{}")
    (root / "boto3/data/ec2/2016-11-15").mkdir(parents=True)
    return root


def test_trimming_keeps_the_gateways_services_and_botocores_shared_files(tmp_path: Path) -> None:
    root = _sdk(tmp_path, [*SERVICES, "ec2", "sagemaker"])

    kept = trim_sdk(root)

    assert kept == sorted(SERVICES)
    assert sorted(path.name for path in (root / "botocore/data").iterdir()) == sorted([*SERVICES, "endpoints.json"])
    assert not (root / "boto3/data").exists()  # resource models: the gateway uses clients only


def test_trimming_refuses_a_botocore_without_a_needed_service(tmp_path: Path) -> None:
    root = _sdk(tmp_path, sorted(SERVICES - {"bedrock-runtime"}))

    with pytest.raises(SystemExit, match="bedrock-runtime"):
        trim_sdk(root)


def _tree(root: Path) -> Path:
    (root / "gateway/handlers").mkdir(parents=True)
    (root / "gateway/handlers/run.sh").write_text("#!/bin/sh\nexec python -m uvicorn\n")
    (root / "gateway/__init__.py").write_text("")
    (root / "gateway/__pycache__").mkdir()
    (root / "gateway/__pycache__/x.cpython-39.pyc").write_bytes(b"\0")
    (root / "gateway/__pycache__/__init__.cpython-313.pyc").write_bytes(b"\0")
    (root / "bin").mkdir()
    (root / "bin/uvicorn").write_text("#!/work/.venv/bin/python\n")
    return root


def test_zip_is_deterministic_executable_where_needed_and_skips_build_litter(tmp_path: Path) -> None:
    # GIVEN a staged bundle with bytecode and console scripts beside the package
    root = _tree(tmp_path / "stage")

    # WHEN it is zipped twice
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    write_zip(root, first)
    write_zip(root, second)

    # THEN the bytes are identical (stable asset hash), run.sh is executable, and neither bytecode (SnapStart
    # compiles once, before the snapshot) nor console scripts ship
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as bundle:
        modes = {info.filename: info.external_attr >> 16 for info in bundle.infolist()}
    assert modes == {
        "gateway/__init__.py": 0o100644,
        "gateway/handlers/run.sh": 0o100755,
    }


@pytest.mark.skipif(not any(shutil.which(tool) for tool in STRIP_TOOLS), reason="no ELF strip tool on this machine")
def test_shared_objects_lose_their_debug_info_and_still_load(tmp_path: Path) -> None:
    # GIVEN a shared object built with debug info, as PyPI's wheels ship them
    source = tmp_path / "answer.c"
    source.write_text("int answer(void) { return 42; }\n")
    library = tmp_path / "stage" / "pkg" / "_answer.cpython-311-x86_64-linux-gnu.so"
    library.parent.mkdir(parents=True)
    subprocess.run(["cc", "-g3", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    before = library.stat().st_size

    # WHEN the bundle step strips it
    _strip_debug(tmp_path / "stage")

    # THEN it is smaller, and what it exports still works
    assert library.stat().st_size < before
    assert ctypes.CDLL(str(library)).answer() == 42
