"""The pytest side of the contract judge: every reply the gateway sends during a test is judged (see
``hook.py``), and a test that made the gateway send something either spec rejects fails with the list.

Set ``CONTRACT_REPORT=path.json`` to also write the session's counts and violations by kind.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Generator
from typing import Any

import pytest

from tests.contract.allowlist import EXPECTED_FOR_NOW, Known, tolerated
from tests.contract.hook import Sink, install
from tests.contract.judge import Violation

SHOWN = 15
JUDGED_SUITES = ("tests/integration/", "tests/compat/", "tests/contract/")
"""Where a violation fails the test. Elsewhere (unit, worker) replies are still judged and counted, not failed."""
_sink = Sink()
_failed: Counter[str] = Counter()
_tolerated: Counter[str] = Counter()
_outside: Counter[str] = Counter()
_used: set[Known] = set()
_examples: dict[str, str] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_uninstall] = install(_sink)


def pytest_unconfigure(config: pytest.Config) -> None:
    uninstall = config.stash.get(_uninstall, None)
    if uninstall is not None:
        uninstall()


_uninstall = pytest.StashKey[Any]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    _sink.take()  # whatever an earlier test left in flight is not this test's
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    try:
        result = yield
    except BaseException:
        _verdict(item, fail=False)
        raise
    _verdict(item, fail=True)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    result = yield
    _verdict(item, fail=True)
    return result


def _verdict(item: pytest.Item, *, fail: bool) -> None:
    violations = _sink.take()
    broken: list[Violation] = []
    judged_here = item.nodeid.startswith(JUDGED_SUITES)
    for violation in violations:
        known = tolerated(violation)
        if known:
            _used.add(known)
            _tolerated[f"{violation.kind}  <- {known.why}"] += 1
        elif not judged_here:
            _outside[violation.kind] += 1
        else:
            _failed[violation.kind] += 1
            broken.append(violation)
        _examples.setdefault(violation.kind, f"{item.nodeid}: {violation}")
    if not broken:
        return
    lines = [str(v) for v in broken[:SHOWN]] + ([f"... and {len(broken) - SHOWN} more"] if len(broken) > SHOWN else [])
    report = "the gateway sent what the published schemas reject:\n  " + "\n  ".join(lines)
    if fail:
        pytest.fail(report, pytrace=False)
    item.add_report_section("call", "contract", report)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not (_sink.bodies or _sink.events):
        return
    write = terminalreporter.write_line
    write(f"contract: judged {_sink.bodies} bodies and {_sink.events} stream events against the pinned specs")
    titled = (
        ("violations", _failed),
        ("tolerated (allowlist.py)", _tolerated),
        (f"violations outside {', '.join(JUDGED_SUITES)} (not failed)", _outside),
    )
    for title, counter in titled:
        if counter:
            write(f"contract {title}: {sum(counter.values())}")
            for kind, count in counter.most_common():
                write(f"  {count:6d}  {kind}")
    unused = [known.why for known in EXPECTED_FOR_NOW if known not in _used]
    if unused and (_failed or _tolerated):
        write(f"contract: EXPECTED_FOR_NOW entries nothing matched in this run (fixed?): {unused}")
    if _sink.unjudged:
        write(f"contract: not judged (no schema for the route): {dict(_sink.unjudged)}")
    target = os.environ.get("CONTRACT_REPORT")
    if target:
        summary = {
            "bodies": _sink.bodies,
            "events": _sink.events,
            "violations": dict(_failed),
            "tolerated": dict(_tolerated),
            "outside": dict(_outside),
            "allowlist_unused": unused,
            "examples": _examples,
            "unjudged": dict(_sink.unjudged),
        }
        with open(target, "w") as out:
            json.dump(summary, out, indent=1, sort_keys=True)
