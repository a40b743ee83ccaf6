"""``make keys``: gateway.keys against the table a deployed stack names in its outputs."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from gateway.dev.state import LocalServer
from gateway.store.keys import DynamoKeyStore
from gateway.store.schema import create_table
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


def test_keys_explains_a_missing_stack(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert keys.main(["--stage", "prod", "list"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert "deploy it first" in line


def test_keys_finds_a_running_make_run_when_no_stage_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN `make run`'s moto (a moto server on loopback) and the .local/server.json it writes
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        create_table(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"), "responses")
        monkeypatch.chdir(tmp_path)
        LocalServer(1, "http://127.0.0.1:8000/v1", endpoint, "us-east-1", "responses").write()

        # WHEN `make keys ARGS="create --tenant acme"` runs with no STAGE
        assert keys.main(["create", "--tenant", "acme"]) == 0

        # THEN the key is in make run's table, and the output says so
        printed = capsys.readouterr().out
        [record] = DynamoKeyStore("responses", boto3.client("dynamodb", endpoint_url=endpoint)).list()
        assert record.tenant == "acme" and record.key_id in printed and "make run" in printed
    finally:
        server.stop()


def test_without_make_run_or_stage_it_explains_both(
    aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert keys.main(["list"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert "make run" in line and "STAGE" in line
