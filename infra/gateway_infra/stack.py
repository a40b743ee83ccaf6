"""GatewayStack: composes the constructs, and names what operators need as outputs."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from gateway_infra.api import GatewayApi
from gateway_infra.config import StageConfig
from gateway_infra.functions import GatewayFunctions
from gateway_infra.monitoring import Monitoring
from gateway_infra.provider_keys import ProviderKeys
from gateway_infra.queue import JobQueue
from gateway_infra.sealing_keys import SealingKeys
from gateway_infra.storage import Storage
from gateway_infra.websocket import GatewayWebSocket


class GatewayStack(Stack):
    """The whole gateway for one stage. Environment-agnostic: the region comes from the deploy, not synth."""

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="OpenAI Responses API gateway", **kwargs)
        Tags.of(self).add("project", "responses-gateway")
        Tags.of(self).add("stage", config.name)

        self.storage = Storage(self, "Storage", config=config)
        self.jobs = JobQueue(self, "Jobs", config=config)
        self.provider_keys = ProviderKeys(self, "ProviderKeys", config=config)
        self.sealing_keys = SealingKeys(self, "SealingKeys", config=config)
        self.functions = GatewayFunctions(
            self,
            "Functions",
            config=config,
            storage=self.storage,
            jobs=self.jobs,
            provider_keys=self.provider_keys,
            sealing_keys=self.sealing_keys,
        )
        self.api = GatewayApi(self, "Api", config=config, functions=self.functions)
        self.websocket = GatewayWebSocket(
            self,
            "WebSocket",
            config=config,
            functions=self.functions,
            storage=self.storage,
            jobs=self.jobs,
            provider_keys=self.provider_keys,
            sealing_keys=self.sealing_keys,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            stage=self.api.rest_api.deployment_stage,
            functions=self.functions,
            jobs=self.jobs,
            websocket=self.websocket,
        )

        # Fixed logical ids: `make keys` and the README read these names.
        CfnOutput(self, "ApiUrl", value=self.api.base_url, description="OpenAI SDK base_url")
        CfnOutput(self, "WebSocketUrl", value=self.websocket.url, description="WebSocket mode (wss://)")
        CfnOutput(self, "TableName", value=self.storage.table.table_name)
        CfnOutput(
            self,
            "ProviderSecretName",
            value=self.provider_keys.secret.secret_name,
            description='Put upstream keys here as a JSON object, e.g. {"OPENAI_API_KEY": "..."}',
        )
        CfnOutput(
            self,
            "SealingSecretName",
            value=self.sealing_keys.secret.secret_name,
            description='Keys sealing encrypted_content, {"keys": "<current>,<previous>"}: see the README to rotate',
        )
        CfnOutput(self, "DashboardName", value=self.monitoring.dashboard.dashboard_name)
