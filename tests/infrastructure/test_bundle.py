"""The bundle builder's pure parts: what ships, and how the zip is written. (Building it needs PyPI.)"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from gateway_infra.config import REPO_ROOT
from gateway_infra.tools.bundle import RUNTIME_PROVIDED, STRIP_TOOLS, _strip_debug, runtime_requirements, write_zip


def test_bundle_ships_the_runtime_dependencies_except_what_lambda_provides() -> None:
    requirements = runtime_requirements(REPO_ROOT / "pyproject.toml")

    assert not any(requirement.startswith(tuple(RUNTIME_PROVIDED)) for requirement in requirements)
    assert any(requirement.startswith("fastapi") for requirement in requirements)
    assert any(requirement.startswith("mangum") for requirement in requirements)
    assert any(requirement.startswith("uvicorn") for requirement in requirements)


def _tree(root: Path) -> Path:
    (root / "gateway/handlers").mkdir(parents=True)
    (root / "gateway/handlers/run.sh").write_text("#!/bin/sh\nexec python -m uvicorn\n")
    (root / "gateway/__init__.py").write_text("")
    (root / "gateway/__pycache__").mkdir()
    (root / "gateway/__pycache__/x.cpython-39.pyc").write_bytes(b"\0")
    (root / "gateway/__pycache__/__init__.cpython-311.pyc").write_bytes(b"\0")
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

    # THEN the bytes are identical (stable asset hash), run.sh is executable and other Pythons' litter is gone
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as bundle:
        modes = {info.filename: info.external_attr >> 16 for info in bundle.infolist()}
    assert modes == {
        "gateway/__init__.py": 0o100644,
        "gateway/__pycache__/__init__.cpython-311.pyc": 0o100644,  # the runtime's own bytecode ships
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
