"""The sealing-keys secret: generated at deploy (never in the template), in the app's format, readable by every
function, kept in prod."""

from __future__ import annotations

import pytest

from gateway.sealing_keys import parse_keys
from gateway_infra.sealing_keys import KEY_LENGTH, SECRET_FIELD
from tests.infrastructure.template import Json, Synthesized, references

pytestmark = pytest.mark.infra


def _secret(stage: Synthesized) -> tuple[str, Json]:
    logical_id = stage.logical_id("AWS::SecretsManager::Secret", "SealingKeys")
    return logical_id, stage.json["Resources"][logical_id]


def test_the_key_is_generated_by_secrets_manager_in_the_format_the_app_reads(stage: Synthesized) -> None:
    _, secret = _secret(stage)
    properties = secret["Properties"]

    assert "SecretString" not in properties  # no key material passes through CloudFormation
    generate = properties["GenerateSecretString"]
    assert generate["SecretStringTemplate"] == "{}"
    assert generate["GenerateStringKey"] == SECRET_FIELD == "keys"
    assert generate["PasswordLength"] == KEY_LENGTH >= 43  # at least 256 bits of letters and digits
    # no punctuation: a comma would split the one generated key into several
    assert generate["ExcludePunctuation"] is True
    assert "Name" not in properties


def test_a_generated_value_parses_as_one_usable_key() -> None:
    generated = "a1" * (KEY_LENGTH // 2)  # the shape Secrets Manager makes: letters and digits, KEY_LENGTH long

    assert parse_keys(generated) == [generated.encode()]


def test_every_function_may_read_it_and_is_told_where_it_is(stage: Synthesized) -> None:
    secret_id, _ = _secret(stage)
    for role, (_, function) in stage.functions().items():
        [role_id] = references(function["Role"])
        readable = [
            statement
            for policy in stage.resources("AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            if secret_id in references(statement["Resource"])
        ]
        assert readable, role
        assert all(
            set(statement["Action"]) == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
            for statement in readable
        ), role
        assert references(function["Environment"]["Variables"]["RESPONSES_SEALING_SECRET_ID"]) == {secret_id}


def test_prod_keeps_it_and_operators_can_find_it(prod: Synthesized, dev: Synthesized) -> None:
    # Deleting it would make every token in clients' hands unreadable.
    assert _secret(prod)[1]["DeletionPolicy"] == "Retain"
    assert _secret(dev)[1]["DeletionPolicy"] == "Delete"
    for stage in (prod, dev):
        output = stage.json["Outputs"]["SealingSecretName"]
        assert references(output["Value"]) == {_secret(stage)[0]}
