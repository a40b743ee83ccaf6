"""One synthesis for the whole session: both stages in one app (about the cost of one), cdk-nag attached.

The stack gets a stand-in asset folder, so the tests need neither the real bundle nor the network.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace

import pytest

# jsii starts node on first import; without this, node 20 prints a page-long end-of-life banner.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Template

from app import build_app
from gateway_infra.account import ACCOUNT_STACK_NAME
from gateway_infra.config import PROD, STAGES
from tests.infrastructure.template import Json, Synthesized

RESERVED = replace(PROD, name="prod-reserved", worker_reserved_concurrency=PROD.worker_max_concurrency)
"""prod as deployed with ``-c workerReservedConcurrency=20``: synthesized beside the stages, never a stage."""


def _findings(report: dict) -> str:
    lines = ["cdk-nag findings without an acknowledgement:"]
    for plugin in report["pluginReports"]:
        for violation in plugin["violations"]:
            paths = ", ".join(c["constructPath"] for c in violation["violatingConstructs"])
            lines.append(f"  {violation['ruleName']}: {paths}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    """Every stage's synthesized stack, by stage name. Fails the session on any unacknowledged finding."""
    asset = tmp_path_factory.mktemp("asset")
    (asset / "stand-in.txt").write_text("the tests never deploy, so the stack gets this instead of the bundle\n")
    outdir = tmp_path_factory.mktemp("cdk.out")
    configs = [replace(config, asset_path=asset) for config in (*STAGES.values(), RESERVED)]
    app, stacks = build_app(*configs, outdir=str(outdir))
    try:
        app.synth()
    except RuntimeError:
        pytest.fail(_findings(json.loads((outdir / "validation-report.json").read_text())), pytrace=False)
    return {
        config.name: Synthesized(
            config=config,
            template=Template.from_stack(stack),
            path=outdir / f"{stack.stack_name}.template.json",
            metadata=json.loads((outdir / f"{stack.stack_name}.metadata.json").read_text()),
        )
        for config, stack in zip(configs, stacks, strict=True)
    }


@pytest.fixture(scope="session")
def account_stack(synthesized: dict[str, Synthesized]) -> Json:
    """The account stack's template, synthesized in the same app as the stages."""
    path = next(iter(synthesized.values())).path.with_name(f"{ACCOUNT_STACK_NAME}.template.json")
    return dict(json.loads(path.read_text()))


@pytest.fixture(params=sorted(STAGES))
def stage(request: pytest.FixtureRequest, synthesized: dict[str, Synthesized]) -> Synthesized:
    """Each stage in turn, for properties every stage must have."""
    return synthesized[request.param]


@pytest.fixture
def dev(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["dev"]


@pytest.fixture
def prod(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["prod"]
