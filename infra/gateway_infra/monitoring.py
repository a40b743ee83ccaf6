"""Alarms for the failures that need a human, and one dashboard for the rest.

The alarms have no actions: where they should page (SNS, chat, a ticket system) is each operator's choice, and
an action can be added to them without touching this stack.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from gateway_infra.config import StageConfig, metrics_namespace
from gateway_infra.functions import GatewayFunctions
from gateway_infra.queue import JobQueue
from gateway_infra.websocket import GatewayWebSocket

_PERIOD = Duration.minutes(5)
BUDGET_ALARM_PERCENT = 90
"""A key past this share of its day's token budget raises ``BudgetNearlySpent`` (the app logs ``BudgetUsed`` from
80%, ``store/usage.py``)."""
SERVER_ERROR_RATE = 0.05
"""Share of requests answered 5xx over 5 minutes that raises the alarm (API Gateway's 5XXError average)."""


class Monitoring(Construct):
    """5xx rate, dead letters, worker errors and throttles as alarms; traffic and latency on a dashboard."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        stage: apigw.Stage,
        functions: GatewayFunctions,
        jobs: JobQueue,
        websocket: GatewayWebSocket,
    ) -> None:
        super().__init__(scope, construct_id)
        server_errors = stage.metric_server_error(statistic="Average", period=_PERIOD)
        dead_letters = jobs.dead_letters.metric_approximate_number_of_messages_visible(
            statistic="Maximum", period=_PERIOD
        )
        worker_errors = functions.worker.metric_errors(statistic="Sum", period=_PERIOD)
        throttles = cloudwatch.MathExpression(
            label="Lambda throttles (all functions)",
            expression="FILL(stream, 0) + FILL(api, 0) + FILL(worker, 0)",
            using_metrics={
                "stream": functions.api_stream.metric_throttles(statistic="Sum"),
                "api": functions.api.metric_throttles(statistic="Sum"),
                "worker": functions.worker.metric_throttles(statistic="Sum"),
            },
            period=_PERIOD,
        )

        self.alarms = [
            # Two bad periods out of three: one unlucky burst on a quiet API is not an incident.
            server_errors.create_alarm(
                self,
                "ServerErrorRate",
                alarm_description=f"More than {SERVER_ERROR_RATE:.0%} of API requests answered 5xx",
                threshold=SERVER_ERROR_RATE,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            _on_any(
                self,
                dead_letters,
                "DeadLetters",
                "Background jobs exhausted their retries and sit in the dead-letter queue",
            ),
            _on_any(
                self, worker_errors, "WorkerErrors", "The background worker raised instead of reporting a failed job"
            ),
            _on_any(self, throttles, "Throttles", "Lambda refused invocations for lack of concurrency"),
            _on_any(
                self,
                websocket.dead_letters.metric_approximate_number_of_messages_visible(
                    statistic="Maximum", period=_PERIOD
                ),
                "WebSocketTurnDeadLetters",
                "A WebSocket turn failed outside the engine (its client got a server_error frame)",
            ),
            _on_any(
                self,
                websocket.function.metric_errors(statistic="Sum", period=_PERIOD),
                "WebSocketErrors",
                "The WebSocket function raised instead of answering with an error frame",
            ),
            # Logged by the app in embedded metric format, without dimensions as well as by tenant: the alarm
            # watches every tenant at once; the log line names the tenant and the key.
            cloudwatch.Metric(
                namespace=metrics_namespace(config), metric_name="BudgetUsed", statistic="Maximum", period=_PERIOD
            ).create_alarm(
                self,
                "BudgetNearlySpent",
                alarm_description=f"A key has used over {BUDGET_ALARM_PERCENT}% of its daily token budget",
                threshold=BUDGET_ALARM_PERCENT,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        ]

        # Dashboard names are unique per account across regions, hence the region in the name.
        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"{config.stack_name}-{Stack.of(self).region}"
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[
                    stage.metric_count(statistic="Sum", period=_PERIOD),
                    stage.metric_client_error(statistic="Sum", period=_PERIOD),
                    stage.metric_server_error(statistic="Sum", period=_PERIOD),
                ],
            ),
            cloudwatch.GraphWidget(
                title="API latency (p90)",
                left=[
                    stage.metric_latency(statistic="p90", period=_PERIOD),
                    stage.metric_integration_latency(statistic="p90", period=_PERIOD),
                ],
            ),
            cloudwatch.GraphWidget(
                title="Jobs queue",
                left=[
                    jobs.queue.metric_approximate_number_of_messages_visible(period=_PERIOD),
                    dead_letters,
                ],
                right=[jobs.queue.metric_approximate_age_of_oldest_message(period=_PERIOD)],
            ),
        )
        self.dashboard.add_widgets(
            *(
                cloudwatch.GraphWidget(
                    title=f"{name} function",
                    left=[
                        function.metric_invocations(statistic="Sum", period=_PERIOD),
                        function.metric_errors(statistic="Sum", period=_PERIOD),
                        function.metric_throttles(statistic="Sum", period=_PERIOD),
                    ],
                    right=[function.metric_duration(statistic="p90", period=_PERIOD)],
                )
                for name, function in (
                    ("api-stream", functions.api_stream),
                    ("api", functions.api),
                    ("worker", functions.worker),
                )
            )
        )
        self.dashboard.add_widgets(cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24))


def _on_any(
    scope: Construct, metric: cloudwatch.Metric | cloudwatch.MathExpression, construct_id: str, description: str
) -> cloudwatch.Alarm:
    """An alarm on the first occurrence in a period: each of these counts something that should never happen."""
    return metric.create_alarm(
        scope,
        construct_id,
        alarm_description=description,
        threshold=1,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
