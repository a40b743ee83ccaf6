"""Alarms, the dashboard and the outputs operators use."""

from __future__ import annotations

import pytest

from gateway_infra.monitoring import BUDGET_ALARM_PERCENT, SERVER_ERROR_RATE
from tests.infrastructure.template import Json, Synthesized, flatten, references

pytestmark = pytest.mark.infra


def _alarm(stage: Synthesized, construct_id: str) -> Json:
    return stage.json["Resources"][stage.logical_id("AWS::CloudWatch::Alarm", f"Monitoring{construct_id}")][
        "Properties"
    ]


def test_alarms_cover_5xx_rate_dead_letters_worker_errors_and_throttles(stage: Synthesized) -> None:
    stage.template.resource_count_is("AWS::CloudWatch::Alarm", 7)

    server_errors = _alarm(stage, "ServerErrorRate")
    assert (server_errors["Namespace"], server_errors["MetricName"]) == ("AWS/ApiGateway", "5XXError")
    assert server_errors["Statistic"] == "Average" and server_errors["Threshold"] == SERVER_ERROR_RATE

    dead_letters = _alarm(stage, "DeadLetters")
    assert dead_letters["MetricName"] == "ApproximateNumberOfMessagesVisible"
    [queue] = references(dead_letters["Dimensions"])
    assert "RedrivePolicy" not in stage.json["Resources"][queue]["Properties"]  # the DLQ itself

    worker_errors = _alarm(stage, "WorkerErrors")
    assert worker_errors["MetricName"] == "Errors"
    assert references(worker_errors["Dimensions"]) == {stage.functions()["worker"][0]}

    throttles = _alarm(stage, "Throttles")
    throttled = {
        name
        for query in throttles["Metrics"]
        if "MetricStat" in query
        for name in references(query["MetricStat"]["Metric"]["Dimensions"])
    }
    assert throttled == {logical_id for logical_id, _ in stage.functions().values()}


def test_alarms_cover_the_websocket_function_and_its_dead_letters(stage: Synthesized) -> None:
    errors = _alarm(stage, "WebSocketErrors")
    assert errors["MetricName"] == "Errors" and errors["Threshold"] == 1
    [function] = references(errors["Dimensions"])
    assert stage.json["Resources"][function]["Properties"]["Handler"] == "gateway.handlers.websocket.handler"
    dead = _alarm(stage, "WebSocketTurnDeadLetters")
    [queue] = references(dead["Dimensions"])
    assert stage.json["Resources"][queue]["Properties"].get("FifoQueue") is True
    assert "RedrivePolicy" not in stage.json["Resources"][queue]["Properties"]  # the dead-letter queue itself


def test_an_alarm_for_keys_near_their_daily_budget(stage: Synthesized) -> None:
    budget = _alarm(stage, "BudgetNearlySpent")
    assert budget["MetricName"] == "BudgetUsed" and budget["Statistic"] == "Maximum"
    assert budget["Threshold"] == BUDGET_ALARM_PERCENT and "Dimensions" not in budget
    # The namespace the functions log the metric into (their RESPONSES_METRICS_NAMESPACE)
    [api, _] = stage.functions()["api"]
    environment = stage.json["Resources"][api]["Properties"]["Environment"]["Variables"]
    assert budget["Namespace"] == environment["RESPONSES_METRICS_NAMESPACE"]


def test_dashboard_and_outputs(stage: Synthesized) -> None:
    stage.template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    outputs = stage.json["Outputs"]
    assert {"ApiUrl", "TableName", "ProviderSecretName"} <= outputs.keys()
    # the OpenAI SDK's base_url: the stage's URL plus /v1
    [stage_id] = stage.resources("AWS::ApiGateway::Stage")
    assert flatten(outputs["ApiUrl"]["Value"]).endswith(f".<AWS::URLSuffix>/<{stage_id}>/v1")
    assert references(outputs["TableName"]["Value"]) == {stage.logical_id("AWS::DynamoDB::GlobalTable", "Storage")}
    assert references(outputs["ProviderSecretName"]["Value"]) == {
        stage.logical_id("AWS::SecretsManager::Secret", "ProviderKeys")
    }
