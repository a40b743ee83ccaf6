"""Rebuild a JSON Schema bottom-up, touching only schema positions (never a property *named* like a keyword)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Schema = dict[str, Any]

_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_ONE = (
    "items",
    "additionalItems",
    "additionalProperties",
    "unevaluatedItems",
    "unevaluatedProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
)


def rebuild(schema: Any, node: Callable[[Schema], Schema]) -> Any:
    """``schema`` with every sub-schema rebuilt first, then ``node`` applied to each schema object."""
    if not isinstance(schema, dict):
        return schema  # a boolean schema
    out = dict(schema)
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: rebuild(sub, node) for name, sub in out[key].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [rebuild(sub, node) for sub in out[key]]
    for key in _SCHEMA_ONE:
        if key in out:
            sub = out[key]
            out[key] = [rebuild(s, node) for s in sub] if isinstance(sub, list) else rebuild(sub, node)
    return node(out)


def refs(schema: Any) -> set[str]:
    """Names of the ``#/components/schemas/...`` a schema points at (directly, not transitively)."""
    found: set[str] = set()

    def visit(node: Schema) -> Schema:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(COMPONENT):
            found.add(ref[len(COMPONENT) :])
        return node

    rebuild(schema, visit)
    return found


COMPONENT = "#/components/schemas/"


def reachable(schemas: dict[str, Any], roots: list[str]) -> dict[str, Any]:
    """The components ``roots`` need, sorted by name."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(refs(schemas[name]) - seen)
    return {name: schemas[name] for name in sorted(seen)}
