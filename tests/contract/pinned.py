"""The pinned specs as JSON Schema 2020-12 validators, compiled once: which schema answers which route or event.

OpenAPI 3.1 schemas are 2020-12 plus annotations (``discriminator``, ``x-*``), with one leftover of OpenAPI 3.0
that OpenAI's spec still uses in places: ``nullable: true``, which means "or null". It is rewritten to
``anyOf: [schema, {"type": "null"}]`` so nothing that is not nullable in the spec accepts ``null`` here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.contract.walk import COMPONENT, Schema, rebuild

HERE = Path(__file__).resolve().parent
PREFIX = "/v1"
"""Where the gateway mounts what the specs call ``/responses``."""


def openapi_nullable(node: Schema) -> Schema:
    """OpenAPI 3.0's ``nullable`` as plain JSON Schema (``nullable: false`` is the default and says nothing)."""
    if "nullable" not in node:
        return node
    rest = {key: value for key, value in node.items() if key != "nullable"}
    return {"anyOf": [rest, {"type": "null"}]} if node["nullable"] is True else rest


def _as_2020_12(name: str, schema: Schema) -> Schema:
    """``nullable`` rewritten, and draft 2019-09's ``$recursiveRef: "#"`` (OpenAI's recursive filters) as the
    ``$ref`` to its own component it means: 2020-12 would silently ignore it and accept anything."""

    def node(sub: Schema) -> Schema:
        sub = openapi_nullable(sub)
        if sub.get("$recursiveRef") == "#":
            sub = {**{k: v for k, v in sub.items() if k != "$recursiveRef"}, "$ref": COMPONENT + name}
        return {key: value for key, value in sub.items() if key != "$recursiveAnchor"}

    converted: Schema = rebuild(schema, node)
    return converted


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    replies: dict[str, dict[str, str]]
    """status -> media type -> component name."""


@dataclass
class Spec:
    name: str
    document: dict[str, Any]
    registry: Registry[Any] = field(init=False)
    routes: list[Route] = field(init=False)
    events: dict[str, str] = field(init=False)
    """Stream event ``type`` -> the component that describes it."""
    _validators: dict[str, Draft202012Validator] = field(default_factory=dict)

    def __post_init__(self) -> None:
        schemas = self.document["components"]["schemas"]
        self.document["components"]["schemas"] = {name: _as_2020_12(name, s) for name, s in schemas.items()}
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(self.uri, resource)
        self.routes = sorted(self._routes(), key=lambda route: "{" in route.pattern.pattern)
        self.events = self._event_types()

    @property
    def uri(self) -> str:
        return f"urn:contract:{self.name}"

    @property
    def source(self) -> dict[str, str]:
        pinned: dict[str, str] = self.document["x-pinned-from"]
        return pinned

    def has(self, component: str) -> bool:
        return component in self.document["components"]["schemas"]

    def validator(self, component: str) -> Draft202012Validator:
        """A compiled validator for one component (its ``$ref`` graph resolved through the registry)."""
        if component not in self._validators:
            schema = {"$ref": f"{self.uri}{COMPONENT}{component}"}
            self._validators[component] = Draft202012Validator(schema, registry=self.registry)
        return self._validators[component]

    def route(self, method: str, path: str) -> Route | None:
        return next((r for r in self.routes if r.method == method and r.pattern.fullmatch(path)), None)

    def _routes(self) -> list[Route]:
        routes = []
        for path, operations in self.document["paths"].items():
            pattern = re.compile(re.escape(PREFIX) + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)))
            for method, operation in operations.items():
                replies = {
                    status: {media: _component(body["schema"]) for media, body in reply["content"].items()}
                    for status, reply in operation["responses"].items()
                }
                routes.append(Route(method.upper(), pattern, replies))
        return routes

    def _event_types(self) -> dict[str, str]:
        """Each event component's ``type`` value, from the union the spec gives for ``text/event-stream``."""
        create = self.document["paths"]["/responses"]["post"]["responses"]["200"]["content"]["text/event-stream"]
        union = create["schema"]
        if "$ref" in union:
            union = self.document["components"]["schemas"][_component(union)]
        names = [_component(branch) for branch in union.get("anyOf", union.get("oneOf", []))]
        schemas = self.document["components"]["schemas"]
        return {type_: name for name in names for type_ in schemas[name]["properties"]["type"]["enum"]}


def _component(schema: Schema) -> str:
    ref = schema.get("$ref", "")
    return ref[len(COMPONENT) :] if ref.startswith(COMPONENT) else ""


@cache
def load(name: str) -> Spec:
    return Spec(name, json.loads((HERE / f"{name}.json").read_text()))


@cache
def local_validator(schema_json: str) -> Draft202012Validator:
    """For the one reply neither spec describes (see ``judge.DELETED``)."""
    schema = json.loads(schema_json)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)
