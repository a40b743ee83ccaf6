"""``make keys``: gateway.keys against the table a deployed stack names in its outputs."""

from __future__ import annotations

import json

import boto3
import pytest

from gateway.store.keys import DynamoKeyStore
from gateway_infra.tools import keys
from tests.conftest import TABLE

DEPLOYED_TABLE = "responses-gateway-dev-table"


def _deploy_dev_stack() -> None:
    """A stand-in for the deployed dev stack, in moto: the table and its ``TableName`` output."""
    keys_schema = {
        "TableName": DEPLOYED_TABLE,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    }
    template = {
        "Resources": {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": keys_schema}},
        "Outputs": {"TableName": {"Value": {"Ref": "Table"}}},
    }
    boto3.client("cloudformation").create_stack(StackName="responses-gateway-dev", TemplateBody=json.dumps(template))


def test_keys_creates_a_key_in_the_deployed_stage_table(
    aws: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a deployed dev stack (in moto) whose TableName output names its table
    _deploy_dev_stack()
    monkeypatch.setenv("RESPONSES_TABLE_NAME", TABLE)  # the tool replaces it; monkeypatch undoes both after

    # WHEN `make keys ARGS="create --tenant acme"` runs
    assert keys.main(["--stage", "dev", "create", "--tenant", "acme"]) == 0

    # THEN the key was printed once and its hash stored in that table
    printed = capsys.readouterr().out
    [record] = DynamoKeyStore(DEPLOYED_TABLE, boto3.client("dynamodb")).list()
    assert record.tenant == "acme" and record.key_id in printed


def test_keys_explains_a_missing_stack(aws: None) -> None:
    with pytest.raises(SystemExit, match="deploy it first"):
        keys.main(["--stage", "prod", "list"])
