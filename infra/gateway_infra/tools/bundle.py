"""Build the Lambda bundle without Docker: ``python -m gateway_infra.tools.bundle`` (``make bundle``).

pip resolves manylinux aarch64 wheels for the runtime's Python version (``--only-binary`` so nothing compiles
for the wrong machine), pinned to the versions installed in this virtualenv, so what ships is what the tests
ran. boto3 and botocore ship too, with botocore's service models cut to the services the gateway calls
(``sdk_trim``). The ``gateway`` package is copied beside them, everything is compiled to bytecode by an
interpreter of the runtime's Python version (hash-based, unchecked ``.pyc`` files), and zipped
deterministically: same inputs, same bytes, same asset hash, so an unchanged bundle is never redeployed.
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
_TAG = f"cpython-{PYTHON_VERSION.replace('.', '')}"
_SKIPPED = re.compile(rf"^bin/|\.pyc$(?<!\.{_TAG}\.pyc)")
"""Console scripts (their shebangs name this machine's interpreter) and bytecode for any other Python."""


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


def _pip_install(requirements: list[str], target: Path, platform: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as constraints:
        constraints.write("\n".join(installed_pins()) + "\n")
    try:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"),
                *("--target", str(target), "--platform", platform, "--implementation", "cp"),
                *("--python-version", PYTHON_VERSION, "--only-binary=:all:", "--no-compile"),
                *("--constraint", constraints.name),
                *requirements,
            ],
            check=True,
        )
    finally:
        os.unlink(constraints.name)


def _copy_package(source: Path, target: Path) -> None:
    shutil.copytree(source, target / source.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


def runtime_interpreter() -> str | None:
    """An interpreter of the runtime's Python version on this machine, to compile the bundle's bytecode (a
    ``.pyc`` is tied to the minor version, not to the CPU): ``$BUNDLE_PYTHON``, ``python3.X`` on the PATH, or a
    pyenv installation. None if there is none."""
    candidates = [os.environ.get("BUNDLE_PYTHON", ""), f"python{PYTHON_VERSION}"]
    candidates += sorted(str(path) for path in Path.home().glob(f".pyenv/versions/{PYTHON_VERSION}*/bin/python3"))
    probe = "import sys; print('%d.%d' % sys.version_info[:2])"
    for candidate in filter(None, candidates):
        found = shutil.which(candidate)
        if found is None:
            continue
        result = subprocess.run([found, "-c", probe], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip() == PYTHON_VERSION:
            return found
    return None


def _compile(root: Path) -> bool:
    """Bytecode the runtime uses as is: unchecked hashes, because zip timestamps are fixed and Lambda's task root
    is read-only (a stale-looking ``.pyc`` would be recompiled in memory on every cold start). Returns whether
    bytecode was written."""
    interpreter = runtime_interpreter()
    if interpreter is None:
        sys.stdout.write(
            f"no Python {PYTHON_VERSION} found (set BUNDLE_PYTHON): the bundle ships without bytecode, so each "
            "function compiles its modules at init (before the SnapStart snapshot, which then holds them)\n"
        )
        return False
    command = [interpreter, "-m", "compileall", "-q", "-j0", "--invalidation-mode", "unchecked-hash", str(root)]
    if subprocess.run(command, check=False).returncode != 0:
        raise SystemExit("bytecode compilation failed")
    return True


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


def build(out_dir: Path, *, platform: str = PLATFORM, bytecode: bool = False) -> Path:
    """Build ``out_dir/lambda/`` and ``out_dir/lambda.zip``; return the zip's path. ``platform`` is a pip
    platform tag: another one (``manylinux2014_x86_64``) builds the same bundle for importing on this machine.
    ``bytecode`` ships ``.pyc`` files (see ``_compile``)."""
    staging, archive = out_dir / "lambda", out_dir / "lambda.zip"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _pip_install(runtime_requirements(REPO_ROOT / "pyproject.toml"), staging, platform)
    trim_sdk(staging)
    _copy_package(REPO_ROOT / "functions" / "gateway", staging)
    missing = sorted(name for name in EXECUTABLES if not (staging / name).is_file())
    if missing:
        raise SystemExit(f"{missing} missing from functions/: the api-stream function cannot start without it")
    _strip_debug(staging)
    if bytecode:
        _compile(staging)
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
    parser.add_argument("--bytecode", action="store_true", help="ship .pyc files compiled for the runtime's Python")
    arguments = parser.parse_args()
    build(arguments.out, platform=arguments.platform, bytecode=arguments.bytecode)


if __name__ == "__main__":
    main()
