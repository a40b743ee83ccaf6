"""API Gateway's account-level CloudWatch role: created once, in the account stack, never by a stage."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import ManualArgs, lint_file

from gateway_infra.account import ACCOUNT_STACK_NAME
from tests.infrastructure.template import Json, Synthesized, references

pytestmark = pytest.mark.infra


def _of_type(template: Json, resource_type: str) -> dict[str, Json]:
    return {key: value for key, value in template["Resources"].items() if value["Type"] == resource_type}


def test_the_account_stack_sets_the_api_gateway_logging_role(account_stack: Json) -> None:
    [account] = _of_type(account_stack, "AWS::ApiGateway::Account").values()
    [role_id] = references(account["Properties"]["CloudWatchRoleArn"])
    role = account_stack["Resources"][role_id]["Properties"]

    [statement] = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert "AmazonAPIGatewayPushToCloudWatchLogs" in json.dumps(role["ManagedPolicyArns"])


def test_no_stage_creates_the_account_setting_and_every_stage_deploys_after_it(
    synthesized: dict[str, Synthesized],
) -> None:
    manifest = json.loads((next(iter(synthesized.values())).path.parent / "manifest.json").read_text())
    for stage in synthesized.values():
        # a second AWS::ApiGateway::Account would overwrite the first, and deleting a stage would remove it
        assert not stage.resources("AWS::ApiGateway::Account"), stage.config.name
        assert ACCOUNT_STACK_NAME in manifest["artifacts"][stage.config.stack_name]["dependencies"]


def test_cfn_lint_is_clean_on_the_account_stack(synthesized: dict[str, Synthesized]) -> None:
    path = next(iter(synthesized.values())).path.with_name(f"{ACCOUNT_STACK_NAME}.template.json")
    matches = lint_file(path, ManualArgs())
    assert not matches, "\n".join(str(match) for match in matches)
