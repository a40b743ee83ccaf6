"""What the synthesized template gives each function, read as Lambda and API Gateway would read it.

Nothing here knows the construct code: handlers, runtimes, environments, the web adapter's settings, the SQS
trigger and the routes all come from the template's JSON, and every CloudFormation reference in an environment
is resolved against the local stand-ins of the resources it names, or the dry run stops naming it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
REGION = "us-east-1"
ACCOUNT = "123456789012"
PSEUDO = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws", "AWS::URLSuffix": "amazonaws.com"}


class Unresolved(LookupError):
    """A template value the dry run has no local stand-in for: a new reference it must learn about."""


@dataclass(frozen=True)
class Function:
    logical_id: str
    handler: str
    runtime: str
    architectures: tuple[str, ...]
    memory_mb: int
    timeout_seconds: int
    environment: Json
    """The template's variables as written, references included (``resolve`` turns them into values)."""
    snap_start: bool
    log_format: str
    application_log_level: str
    layers: tuple[Any, ...]


@dataclass(frozen=True)
class Trigger:
    """The SQS event source mapping: what shapes the worker's events."""

    function: str
    queue_logical_id: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str


class Deployment:
    def __init__(self, template: Json) -> None:
        self.template = template
        self.resources: dict[str, Json] = template["Resources"]

    def of_type(self, resource_type: str) -> dict[str, Json]:
        return {k: r for k, r in self.resources.items() if r["Type"] == resource_type}

    def functions(self) -> dict[str, Function]:
        """The app's functions by logical id (the asset's handlers; CDK's own helper functions are left out)."""
        found = {}
        for logical_id, resource in self.of_type("AWS::Lambda::Function").items():
            p = resource["Properties"]
            if not str(p.get("Runtime", "")).startswith("python"):
                continue
            logging = p.get("LoggingConfig", {})
            found[logical_id] = Function(
                logical_id=logical_id,
                handler=p["Handler"],
                runtime=p["Runtime"],
                architectures=tuple(p.get("Architectures", ["x86_64"])),
                memory_mb=int(p.get("MemorySize", 128)),
                timeout_seconds=int(p.get("Timeout", 3)),
                environment=dict(p.get("Environment", {}).get("Variables", {})),
                snap_start=p.get("SnapStart", {}).get("ApplyOn") == "PublishedVersions",
                log_format=logging.get("LogFormat", "Text"),
                application_log_level=logging.get("ApplicationLogLevel", "INFO"),
                layers=tuple(p.get("Layers", [])),
            )
        return found

    def _function_behind(self, value: Any) -> str:
        """The function a FunctionName or integration URI names, through its alias or version."""
        for ref in _refs(value):
            resource = self.resources[ref]
            if resource["Type"] == "AWS::Lambda::Function":
                return ref
            if resource["Type"] in ("AWS::Lambda::Alias", "AWS::Lambda::Version"):
                return self._function_behind(resource["Properties"].get("FunctionName"))
        raise Unresolved(f"no function behind {value!r}")

    def triggers(self) -> list[Trigger]:
        found = []
        for resource in self.of_type("AWS::Lambda::EventSourceMapping").values():
            p = resource["Properties"]
            [queue] = _refs(p["EventSourceArn"])
            found.append(
                Trigger(
                    function=self._function_behind(p["FunctionName"]),
                    queue_logical_id=queue,
                    batch_size=int(p.get("BatchSize", 10)),
                    report_batch_item_failures="ReportBatchItemFailures" in p.get("FunctionResponseTypes", []),
                )
            )
        return found

    def routes(self) -> list[Route]:
        """Every REST API method: HTTP method, full resource path, and the function its integration invokes."""
        resources = self.of_type("AWS::ApiGateway::Resource")

        def path(logical_id: str) -> str:
            p = resources[logical_id]["Properties"]
            parent = p["ParentId"]
            return (path(parent["Ref"]) if "Ref" in parent else "") + "/" + str(p["PathPart"])

        found = []
        for method in self.of_type("AWS::ApiGateway::Method").values():
            p = method["Properties"]
            integration = p.get("Integration", {})
            if integration.get("Type") != "AWS_PROXY":
                continue
            resource = p["ResourceId"]
            where = path(resource["Ref"]) if "Ref" in resource else "/"
            found.append(Route(p["HttpMethod"], where, self._function_behind(integration["Uri"])))
        return found

    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The method API Gateway picks for a request, and its path parameters: literal segments before
        ``{param}`` before ``{proxy+}``, an exact method before ``ANY``."""
        best: tuple[tuple[int, ...], Route, dict[str, str]] | None = None
        for route in self.routes():
            if route.method not in (method, "ANY"):
                continue
            params = _match(route.path, path)
            if params is None:
                continue
            rank = (*_specificity(route.path), int(route.method == method))
            if best is None or rank > best[0]:
                best = (rank, route, params)
        if best is None:
            raise LookupError(f"API Gateway routes no {method} {path}")
        return best[1], best[2]


def resolve(value: Any, stand_ins: Mapping[str, str], attributes: Mapping[tuple[str, str], str] | None = None) -> str:
    """A template string expression with each ``Ref`` replaced by its stand-in's value (pseudo parameters by this
    dry run's region and account) and each ``Fn::GetAtt`` by ``attributes``; anything else is ``Unresolved``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
        if name in PSEUDO:
            return PSEUDO[name]
        if name not in stand_ins:
            raise Unresolved(f"Ref {name}: no local stand-in")
        return str(stand_ins[name])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        if not attributes or (logical_id, attribute) not in attributes:
            raise Unresolved(f"Fn::GetAtt {logical_id}.{attribute}: no local stand-in")
        return attributes[(logical_id, attribute)]
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(resolve(part, stand_ins, attributes) for part in parts)
    raise Unresolved(f"{value!r}")


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        if "Ref" in value and not str(value["Ref"]).startswith("AWS::"):
            return [value["Ref"]]
        if "Fn::GetAtt" in value:
            return [value["Fn::GetAtt"][0]]
        return [ref for item in value.values() for ref in _refs(item)]
    if isinstance(value, list):
        return [ref for item in value for ref in _refs(item)]
    return []


def _match(template: str, path: str) -> dict[str, str] | None:
    pattern, names = "", list[str]()
    for segment in template.strip("/").split("/") if template != "/" else []:
        greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
        named = re.fullmatch(r"\{(\w+)\}", segment)
        if greedy:
            pattern, names = pattern + r"/(.+)", [*names, greedy.group(1)]
        elif named:
            pattern, names = pattern + r"/([^/]+)", [*names, named.group(1)]
        else:
            pattern += "/" + re.escape(segment)
    found = re.fullmatch(pattern or "/", path)
    return None if found is None else dict(zip(names, found.groups(), strict=True))


def _specificity(template: str) -> tuple[int, ...]:
    """Per segment: 2 literal, 1 ``{param}``, 0 ``{proxy+}``; longer paths are more specific at equal prefix."""
    return tuple(0 if s.endswith("+}") else 1 if s.startswith("{") else 2 for s in template.strip("/").split("/"))
