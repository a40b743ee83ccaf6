"""Read a synthesized template the way the tests reason about it: functions by role, methods by route."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Template

from gateway_infra.config import StageConfig
from gateway_infra.functions import API_HANDLER, STREAM_HANDLER, WORKER_HANDLER

Json = dict[str, Any]
ROLES = {STREAM_HANDLER: "api-stream", API_HANDLER: "api", WORKER_HANDLER: "worker"}


@dataclass(frozen=True)
class Synthesized:
    config: StageConfig
    template: Template
    path: Path
    """The template file, for cfn-lint."""
    metadata: Json
    """The stack's construct metadata, where acknowledged cdk-nag findings are recorded."""
    json: Json = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "json", self.template.to_json())

    def resources(self, resource_type: str) -> dict[str, Json]:
        return {
            logical_id: resource
            for logical_id, resource in self.json["Resources"].items()
            if resource["Type"] == resource_type
        }

    def logical_id(self, resource_type: str, prefix: str) -> str:
        """The one resource of ``resource_type`` whose logical id starts with ``prefix`` (construct path)."""
        [found] = [logical_id for logical_id in self.resources(resource_type) if logical_id.startswith(prefix)]
        return found

    def functions(self) -> dict[str, tuple[str, Json]]:
        """The app's functions by role (``api-stream``, ``api``, ``worker``): logical id and properties."""
        found = {}
        for logical_id, resource in self.resources("AWS::Lambda::Function").items():
            role = ROLES.get(resource["Properties"].get("Handler"))
            if role:
                found[role] = (logical_id, resource["Properties"])
        return found

    def aliases(self) -> dict[str, tuple[str, Json]]:
        """Each function's alias by the function's role: logical id and properties."""
        roles = {logical_id: role for role, (logical_id, _) in self.functions().items()}
        found = {}
        for logical_id, resource in self.resources("AWS::Lambda::Alias").items():
            [function_id] = references(resource["Properties"]["FunctionName"])
            if function_id in roles:  # the WebSocket function's alias is tested in test_websocket_api.py
                found[roles[function_id]] = (logical_id, resource["Properties"])
        return found

    def resource_paths(self) -> dict[str, str]:
        """API Gateway resource logical id -> its full path (``/v1/responses/{id}``)."""
        resources = self.resources("AWS::ApiGateway::Resource")

        def path(logical_id: str) -> str:
            properties = resources[logical_id]["Properties"]
            parent = properties["ParentId"]
            prefix = path(parent["Ref"]) if "Ref" in parent else ""  # else GetAtt RootResourceId
            return f"{prefix}/{properties['PathPart']}"

        return {logical_id: path(logical_id) for logical_id in resources}

    def methods(self) -> dict[tuple[str, str], Json]:
        """(HTTP method, path) -> the method's properties, for every method of the REST API."""
        paths = self.resource_paths()
        return {
            (properties["HttpMethod"], paths[properties["ResourceId"]["Ref"]]): properties
            for properties in (method["Properties"] for method in self.resources("AWS::ApiGateway::Method").values())
        }


def references(value: Any) -> set[str]:
    """Resources a CloudFormation expression refers to (Ref and Fn::GetAtt, not pseudo parameters such as
    ``AWS::Region``), however deeply nested."""
    if isinstance(value, dict):
        if "Ref" in value:
            return set() if value["Ref"].startswith("AWS::") else {value["Ref"]}
        if "Fn::GetAtt" in value:
            return {value["Fn::GetAtt"][0]}
        return set().union(*(references(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(references(item) for item in value))
    return set()


def flatten(value: Any) -> str:
    """A CloudFormation string expression as text, each reference written ``<LogicalId>``."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(flatten(part) for part in parts)
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::FindInMap" in value:
        mapping, first, second = value["Fn::FindInMap"]
        return f"<{mapping}[{flatten(first)}][{flatten(second)}]>"
    return f"<{value['Fn::GetAtt'][0]}>"
