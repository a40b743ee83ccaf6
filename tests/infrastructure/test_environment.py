"""Every function's environment against the one settings class the app reads."""

from __future__ import annotations

import os
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pydantic import AliasChoices

from gateway.settings import Settings
from gateway_infra.config import MAX_RECEIVES
from gateway_infra.functions import WEB_ADAPTER_ENVIRONMENT
from tests.infrastructure.template import Synthesized, references

pytestmark = pytest.mark.infra


def _settings_env_names() -> set[str]:
    """Every environment name ``Settings`` reads: ``RESPONSES_<FIELD>``, or the field's own aliases."""
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"RESPONSES_{name.upper()}")
    return names


def _app_environment(stage: Synthesized) -> dict[str, dict[str, Any]]:
    """Each function's variables, without the web adapter's own (those configure the layer, not the app)."""
    return {
        role: {
            name: value
            for name, value in properties["Environment"]["Variables"].items()
            if name not in WEB_ADAPTER_ENVIRONMENT or name == "PORT"
        }
        for role, (_, properties) in stage.functions().items()
    }


def test_every_responses_variable_is_a_settings_field(stage: Synthesized) -> None:
    known = _settings_env_names()
    for role, variables in _app_environment(stage).items():
        unknown = {name for name in variables if name.startswith("RESPONSES_")} - known
        assert not unknown, f"{role} sets variables Settings never reads: {sorted(unknown)}"


def test_all_functions_run_the_app_with_the_same_settings(stage: Synthesized) -> None:
    environments = _app_environment(stage)
    stream = {name: value for name, value in environments["api-stream"].items() if name != "PORT"}
    assert environments["api"] == environments["worker"] == stream


def test_environment_names_the_stacks_own_resources(stage: Synthesized) -> None:
    variables = _app_environment(stage)["api"]
    resources = stage.json["Resources"]
    expected_types = {
        "RESPONSES_TABLE_NAME": "AWS::DynamoDB::GlobalTable",
        "RESPONSES_QUEUE_URL": "AWS::SQS::Queue",
        "RESPONSES_PAYLOAD_BUCKET": "AWS::S3::Bucket",
        "RESPONSES_PROVIDER_SECRET_ID": "AWS::SecretsManager::Secret",
        "RESPONSES_SEALING_SECRET_ID": "AWS::SecretsManager::Secret",
    }
    for name, resource_type in expected_types.items():
        [target] = references(variables[name])
        assert resources[target]["Type"] == resource_type, name
    assert references(variables["RESPONSES_SEALING_SECRET_ID"]) == {
        stage.logical_id("AWS::SecretsManager::Secret", "SealingKeys")
    }
    [queue] = references(variables["RESPONSES_QUEUE_URL"])
    assert "RedrivePolicy" in resources[queue]["Properties"]  # jobs go to the jobs queue, not the DLQ


def test_settings_load_the_deployed_environment(stage: Synthesized, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the api-stream function's environment, with CloudFormation references as placeholder strings
    for name, value in _app_environment(stage)["api-stream"].items():
        monkeypatch.setenv(name, value if isinstance(value, str) else f"deployed-{sorted(references(value))[0]}")

    # WHEN the app reads its settings, the provider secret as the stack creates it (an empty object)
    with mock_aws():
        boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name=os.environ["RESPONSES_PROVIDER_SECRET_ID"], SecretString="{}"
        )
        settings = Settings()

    # THEN every value parses, auth is on, and the stage's choices arrive
    assert settings.require_auth and settings.auth_enabled
    assert settings.log_level == stage.config.log_level
    assert settings.ttl_days == stage.config.ttl_days
    assert settings.default_provider == stage.config.default_provider
    assert settings.table_name.startswith("deployed-")
    assert settings.worker_max_receives == MAX_RECEIVES
    # one tenant's jobs may not take every worker
    assert 1 <= settings.max_running_per_tenant < stage.config.worker_max_concurrency
    assert settings.port == int(WEB_ADAPTER_ENVIRONMENT["AWS_LWA_PORT"])  # uvicorn listens where LWA forwards
    assert not settings.api_keys, "deployed stacks use hashed keys in DynamoDB, never static ones"
    assert settings.sealing_secret_id and not settings.sealing_keys, "deployed keys come from the secret only"


def test_worker_fails_a_job_on_the_delivery_before_sqs_dead_letters_it(stage: Synthesized) -> None:
    queues = [q for q in stage.resources("AWS::SQS::Queue").values() if not q["Properties"].get("FifoQueue")]
    [jobs] = [q for q in queues if "RedrivePolicy" in q["Properties"]]
    _, worker = stage.functions()["worker"]
    max_receives = worker["Environment"]["Variables"]["RESPONSES_WORKER_MAX_RECEIVES"]
    assert int(max_receives) == jobs["Properties"]["RedrivePolicy"]["maxReceiveCount"]
