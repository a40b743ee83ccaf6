"""Build the Lambda bundle without Docker: ``python -m gateway_infra.tools.bundle`` (``make bundle``).

pip resolves manylinux aarch64 wheels for the runtime's Python version (``--only-binary`` so nothing compiles
for the wrong machine), pinned to the versions installed in this virtualenv, so what ships is what the tests
ran. boto3 and botocore ship too, with botocore's service models cut to the services the gateway calls
(``sdk_trim``). The ``gateway`` package is copied beside them and everything is zipped deterministically: same
inputs, same bytes, same asset hash, so an unchanged bundle is never redeployed.

No bytecode ships. Every function runs with SnapStart, so Python compiles and imports the code once per deploy,
in the init Lambda snapshots (``gateway/snapstart.py`` imports everything there), and restored instances start
with it in memory. ``.pyc`` files would add 5.8 MB to the zip (over the budget below) to speed up only that
one init; README "The bundle" has the measurements.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable
from pathlib import Path

from gateway_infra.config import PYTHON_VERSION, REPO_ROOT
from gateway_infra.tools.sdk_trim import trim_sdk

PLATFORM = "manylinux2014_aarch64"
EXECUTABLES = frozenset({"gateway/handlers/run.sh"})
"""Files Lambda executes directly: the api-stream handler is a script the web adapter runs."""
BUDGET_BYTES = 15 * 1024 * 1024
"""The zipped size this project allows itself (Lambda's own limit for a direct upload is 50 MB)."""
STRIP_TOOLS = ("llvm-strip", "aarch64-linux-gnu-strip")
"""Either strips debug sections from aarch64 ELF files on any build machine (the host's plain ``strip`` only knows
its own architecture). PyPI's aarch64 wheels (aiohttp, cryptography, pydantic_core …) ship with debug info:
about 2.4 MB of the zip that no Lambda ever reads."""
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIPPED = re.compile(r"^bin/|\.pyc$")
"""Console scripts (their shebangs name this machine's interpreter) and any bytecode (see the module docstring)."""


def _name(requirement: str) -> str:
    """The normalized distribution name of a PEP 508 requirement string."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        raise ValueError(f"cannot parse requirement {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def runtime_requirements(pyproject: Path) -> list[str]:
    """``[project] dependencies``: all of them ship, the AWS SDK included (see ``sdk_trim``)."""
    return list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])


def installed_pins() -> list[str]:
    """``name==version`` for every distribution in this interpreter's environment, as pip constraints."""
    pins = {_name(dist.metadata["Name"]): dist.version for dist in importlib.metadata.distributions()}
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def _pip_install(requirements: list[str], target: Path, platform: str, python_version: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write("\n".join(installed_pins()) + "\n")
    try:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
                *("--target", str(target), "--platform", platform, "--implementation", "cp"),
                *("--python-version", python_version, "--only-binary=:all:", "--no-compile"),
                *("--constraint", constraints.name),
                *requirements,
            ],
            check=True,
        )
    finally:
        os.unlink(constraints.name)


def _copy_package(source: Path, target: Path) -> None:
    shutil.copytree(source, target / source.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def _strip_debug(root: Path) -> None:
    """Drop debug sections and the static symbol table from every shared object. What the dynamic loader and
    Python need (the code, ``.dynsym``, ``PyInit_*``) stays, so nothing changes at run time; cryptography's Rust
    extension alone carries 3 MB of static symbols."""
    tool = next((found for name in STRIP_TOOLS if (found := shutil.which(name))), None)
    if tool is None:
        sys.stdout.write(f"none of {', '.join(STRIP_TOOLS)} found: shared objects ship with their debug info\n")
        return
    objects = sorted(str(path) for path in root.rglob("*.so*") if path.is_file())
    if objects:
        subprocess.run([tool, "--strip-unneeded", *objects], check=True)


def _files(root: Path) -> Iterable[tuple[Path, str]]:
    """Every file to ship with its archive name, sorted so the zip's order never depends on the filesystem."""
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_file() and not _SKIPPED.search(name):
            yield path, name


def write_zip(root: Path, archive: Path) -> int:
    """Zip ``root`` with fixed timestamps and modes (0755 for ``EXECUTABLES``, 0644 otherwise); return its size."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        for path, name in _files(root):
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100755 if name in EXECUTABLES else 0o100644) << 16
            bundle.writestr(info, path.read_bytes())
    return archive.stat().st_size


def build(out_dir: Path, *, platform: str = PLATFORM, python_version: str = PYTHON_VERSION) -> Path:
    """Build ``out_dir/lambda/`` and ``out_dir/lambda.zip``; return the zip's path. ``platform`` is a pip
    platform tag and ``python_version`` the Python the wheels are for: others (``manylinux2014_x86_64``, this
    machine's Python) build the same bundle for running on this machine (``make dryrun``)."""
    staging, archive = out_dir / "lambda", out_dir / "lambda.zip"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _pip_install(runtime_requirements(REPO_ROOT / "pyproject.toml"), staging, platform, python_version)
    trim_sdk(staging)
    _copy_package(REPO_ROOT / "functions" / "gateway", staging)
    missing = sorted(name for name in EXECUTABLES if not (staging / name).is_file())
    if missing:
        raise SystemExit(f"{missing} missing from functions/: the api-stream function cannot start without it")
    _strip_debug(staging)
    size = write_zip(staging, archive)
    unpacked = sum(path.stat().st_size for path, _ in _files(staging))
    sys.stdout.write(f"{archive}: {size / 2**20:.1f} MB zipped, {unpacked / 2**20:.1f} MB unpacked\n")
    if size > BUDGET_BYTES:
        raise SystemExit(f"the bundle is over its {BUDGET_BYTES / 2**20:.0f} MB budget")
    return archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "build", help="output folder (default: build/)")
    parser.add_argument("--platform", default=PLATFORM, help=f"pip platform tag (default: {PLATFORM})")
    parser.add_argument(
        "--python-version", default=PYTHON_VERSION, help=f"the Python the wheels are for (default: {PYTHON_VERSION})"
    )
    arguments = parser.parse_args()
    build(arguments.out, platform=arguments.platform, python_version=arguments.python_version)


if __name__ == "__main__":
    main()
