"""The dry run's fixtures: the dev stage's synthesized template, moto's server, the fake upstream, and the stack
started on each variant (tests/deploy/variants.py) this machine can run."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from moto.server import ThreadedMotoServer

from gateway_infra.config import DEV
from tests.deploy import aws
from tests.deploy.lambdas import free_port
from tests.deploy.stack import Stack
from tests.deploy.template import Deployment
from tests.deploy.variants import NAMES, Unavailable, Variant, find
from tests.fakes.upstream import FakeUpstream

UPSTREAM_KEY = "sk-upstream-dryrun"
RAN: list[str] = []
"""One line per variant that ran: what, and how long each function's init took (the terminal summary)."""


def _variants() -> tuple[list[Variant], list[str]]:
    found, not_run = [], []
    for name in NAMES:
        try:
            found.append(find(name))
        except Unavailable as why:
            not_run.append(f"{name}: not run: {why}")
    return found, not_run


VARIANTS, NOT_RUN = _variants()


@dataclass(frozen=True)
class Deployed:
    stack: Stack
    key: str
    """A tenant's API key, made with the keys tool's store as `make keys` makes it."""
    admin_key: str
    upstream: FakeUpstream


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """The dev stage as `make synth` writes it (a stand-in asset: the code run is the variant's)."""
    from app import build_app

    asset = tmp_path_factory.mktemp("asset")
    (asset / "stand-in.txt").write_text("the dry run runs the variant's code, not this\n")
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, [stack] = build_app(replace(DEV, asset_path=asset), outdir=str(outdir))
    app.synth()
    return Deployment(json.loads((outdir / f"{stack.stack_name}.template.json").read_text()))


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream()
    with fake.serve() as url:
        yield fake, url


@pytest.fixture(scope="module", params=VARIANTS, ids=lambda variant: variant.name)
def deployed(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    deployment: Deployment,
    aws_endpoint: str,
    upstream: tuple[FakeUpstream, str],
) -> Iterator[Deployed]:
    variant: Variant = request.param
    fake, url = upstream
    provisioned = aws.provision(deployment, aws_endpoint, prefix=f"dryrun-{variant.name}")
    stack = Stack(deployment, variant, DEV.name, aws_endpoint, provisioned)
    [api_function, *_] = deployment.functions().values()
    secret = api_function.environment["RESPONSES_PROVIDER_SECRET_ID"]["Ref"]
    table = api_function.environment["RESPONSES_TABLE_NAME"]["Ref"]
    aws.put_secret(
        aws_endpoint, provisioned.stand_ins[secret], {"OPENAI_API_KEY": UPSTREAM_KEY, "OPENAI_BASE_URL": url}
    )
    key = aws.create_key(aws_endpoint, provisioned.stand_ins[table], "dryrun")
    admin_key = aws.create_key(aws_endpoint, provisioned.stand_ins[table], "operator", admin=True)
    work = tmp_path_factory.mktemp(f"dryrun-{variant.name}")
    with ExitStack() as logs:
        try:
            stack.start(work, logs)
            inits = ", ".join(
                f"{stack.function(i).handler} {ready.get('init_seconds')} s" for i, ready in stack.ready.items()
            )
            RAN.append(f"{variant.describe()}; init: {inits}; logs in {work}" + "".join(f"; {n}" for n in stack.notes))
            yield Deployed(stack, key, admin_key, fake)
        finally:
            stack.close()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RAN:
        terminalreporter.write_sep("-", "deployment dry run")
        for line in RAN + NOT_RUN:
            terminalreporter.write_line(line)
