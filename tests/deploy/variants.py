"""Which code and which interpreter the dry run runs, best first.

- ``arm64``: ``build/lambda/`` as shipped (``make bundle``: arm64 wheels for python3.13) on an aarch64 CPython
  3.13 under qemu-user: ``qemu-aarch64-static`` (Debian's ``qemu-user-static``) and Debian trixie's arm64
  ``python3.13-minimal`` with its libraries unpacked by ``dpkg -x`` into one folder, ``DRYRUN_ARM64_ROOT``
  (default ``build/arm64-root``). Emulated Python is slow (about a minute per function's init), so this variant
  runs only when ``DRYRUN_ARM64=1`` (``make dryrun`` sets it).
- ``host-bundle``: the same bundle built for this machine (``make dryrun`` builds ``build/host/lambda/``, or
  ``DRYRUN_HOST_BUNDLE``), run by the CPython its wheels were resolved for.
- ``source``: ``functions/`` with ``.venv``'s packages and interpreter: always available, so ``make test``
  drives every handler with the template's events and environment on any machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gateway_infra.config import PYTHON_VERSION, REPO_ROOT

NAMES = ("arm64", "host-bundle", "source")
_TAG = re.compile(r"\.cpython-3(\d+)-(\w+)-linux-gnu\.so$")


@dataclass(frozen=True)
class Variant:
    name: str
    task_root: Path
    """What Lambda unpacks the code into (``/var/task``)."""
    python: tuple[str, ...]
    """The command that is ``python`` on the function's PATH."""
    machine: str
    """What ``platform.machine()`` must say inside the function."""
    init_timeout: float
    environment: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"{self.name}: {self.task_root} with `{' '.join(self.python)}`"


class Unavailable(Exception):
    """Why a variant cannot run here (the test says so, it never skips silently)."""


def _bundle_tag(root: Path) -> tuple[str, str]:
    """(python version, machine) the bundle's compiled extensions were built for."""
    for path in root.rglob("*.so"):
        found = _TAG.search(path.name)
        if found:
            return f"3.{found.group(1)}", found.group(2)
    raise Unavailable(f"{root} holds no version-tagged extension to tell what it was built for")


def _current(bundle: Path, how: str) -> None:
    """A bundle whose ``gateway`` differs from ``functions/gateway`` would dry-run code no longer in the tree."""
    source = REPO_ROOT / "functions" / "gateway"
    files = {p.relative_to(source) for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    shipped = {p.relative_to(bundle / "gateway") for p in (bundle / "gateway").rglob("*") if p.is_file()}
    if files != shipped or any((source / f).read_bytes() != (bundle / "gateway" / f).read_bytes() for f in files):
        raise Unavailable(f"{bundle} is older than functions/gateway: `{how}` rebuilds it")


def arm64() -> Variant:
    if os.environ.get("DRYRUN_ARM64") != "1":
        raise Unavailable("emulated, it takes minutes: `make dryrun` (DRYRUN_ARM64=1) runs it")
    bundle = REPO_ROOT / "build" / "lambda"
    if not (bundle / "gateway").is_dir():
        raise Unavailable(f"no bundle in {bundle}: `make bundle`")
    _current(bundle, "make bundle")
    version, machine = _bundle_tag(bundle)
    qemu = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
    if qemu is None:
        raise Unavailable("no qemu-aarch64-static (Debian: qemu-user-static)")
    root = Path(os.environ.get("DRYRUN_ARM64_ROOT", REPO_ROOT / "build" / "arm64-root")).resolve()
    interpreter = root / "usr" / "bin" / f"python{version}"
    if machine != "aarch64" or not interpreter.is_file():
        raise Unavailable(f"no aarch64 python{version} in {root} (DRYRUN_ARM64_ROOT) for this {machine} bundle")
    cache = REPO_ROOT / "build" / "dryrun" / "pycache-arm64"
    # Bytecode cached outside the bundle, so it stays as shipped and a second run skips compiling under qemu.
    return Variant(
        "arm64",
        bundle,
        (qemu, "-L", str(root), str(interpreter)),
        "aarch64",
        init_timeout=600,
        environment={"PYTHONPYCACHEPREFIX": str(cache)},
    )


def _python_for(version: str) -> str | None:
    candidates = [sys.executable] if f"{sys.version_info[0]}.{sys.version_info[1]}" == version else []
    candidates += [found for found in (os.environ.get("DRYRUN_HOST_PYTHON"), shutil.which(f"python{version}")) if found]
    # pyenv's shims answer only for the selected versions; its installed ones are usable all the same
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(str(p) for p in pyenv.glob(f"versions/{version}.*/bin/python{version}"))
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def host_bundle() -> Variant:
    bundle = Path(os.environ.get("DRYRUN_HOST_BUNDLE", REPO_ROOT / "build" / "host" / "lambda")).resolve()
    if not (bundle / "gateway").is_dir():
        raise Unavailable(f"no bundle in {bundle}: `make dryrun` builds one for this machine")
    _current(bundle, "make dryrun")
    version, machine = _bundle_tag(bundle)
    if machine != os.uname().machine:
        raise Unavailable(f"{bundle} is built for {machine}, this machine is {os.uname().machine}")
    python = _python_for(version)
    if python is None:
        raise Unavailable(f"{bundle} is built for python{version}, which is not on PATH")
    # -S: no site-packages of the host's own, as Lambda's runtime has none beside the bundle that matter here.
    return Variant("host-bundle", bundle, (python, "-S"), machine, init_timeout=60)


def host_build_version() -> str:
    """The Python ``make dryrun`` builds this machine's bundle for: the runtime's if this machine has it."""
    runtime = PYTHON_VERSION
    return runtime if _python_for(runtime) else f"{sys.version_info[0]}.{sys.version_info[1]}"


def source() -> Variant:
    # .venv's interpreter finds the runtime dependencies in its site-packages and the gateway in functions/.
    return Variant("source", REPO_ROOT / "functions", (sys.executable,), os.uname().machine, init_timeout=60)


def find(name: str) -> Variant:
    return {"arm64": arm64, "host-bundle": host_bundle, "source": source}[name]()
