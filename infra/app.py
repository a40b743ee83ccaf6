"""CDK entry point. ``python app.py`` synthesizes offline with no AWS credentials; the aws-cdk CLI runs this
same file for deploy, diff and destroy. The stage comes from the ``stage`` context (cdk.json: dev)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from gateway_infra.account import GatewayAccountStack
from gateway_infra.config import StageConfig, stage_config
from gateway_infra.stack import GatewayStack

CDK_JSON = Path(__file__).with_name("cdk.json")


def build_app(*configs: StageConfig, outdir: str | None = None) -> tuple[cdk.App, list[GatewayStack]]:
    """The app with one stack per config (default: the ``stage`` context's), the account stack they all depend
    on, and cdk-nag's AwsSolutions checks, which make ``synth()`` raise on any unacknowledged finding.

    cdk.json's context (the stage and CDK's feature flags) is passed as the app's defaults, so ``python app.py``
    and the tests build the same template as the CLI, which layers its own context (``-c stage=prod``) on top.
    """
    defaults = json.loads(CDK_JSON.read_text())["context"]
    app = cdk.App(context=defaults, outdir=outdir)
    configs = configs or (_with_overrides(stage_config(app.node.get_context("stage")), app),)
    account = GatewayAccountStack(app)
    stacks = [GatewayStack(app, config.stack_name, config=config) for config in configs]
    for stack in stacks:
        stack.add_stack_dependency(account, reason="its stage logs through the account's API Gateway CloudWatch role")
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stacks


def _with_overrides(config: StageConfig, app: cdk.App) -> StageConfig:
    """The stage's settings with what a deploy may choose on the command line: ``-c workerReservedConcurrency=N``
    reserves N executions for the worker (off by default; see ``StageConfig.worker_reserved_concurrency``)."""
    reserved = app.node.try_get_context("workerReservedConcurrency")
    if reserved in (None, ""):
        return config
    return replace(config, worker_reserved_concurrency=int(reserved))


if __name__ == "__main__":
    build_app()[0].synth()
