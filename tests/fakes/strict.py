"""OpenAI's strict-mode schema check, as its Chat Completions endpoint applies it before generating anything.

A tool with ``strict: true`` (or a ``json_schema`` response format with ``strict: true``) is refused with a 400
unless its schema is strict-compatible: every object schema has ``additionalProperties: false`` and lists every
one of its properties in ``required``, at every depth (properties, ``items``, ``anyOf``/``oneOf``/``allOf``,
``$defs``/``definitions``). Messages, ``param`` and ``code`` follow what OpenAI returns, e.g.

    Invalid schema for function 'get_weather': In context=(), 'additionalProperties' is required to be supplied
    and to be false.   (param "tools[0].function.parameters", code "invalid_function_parameters")

The walk follows JSON Schema keywords, so a property that happens to be named ``properties`` or ``items`` is a
property, not a keyword.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Json = dict[str, Any]
Context = tuple[str, ...]

_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def refusal(body: Json) -> Json | None:
    """OpenAI's error body for the first strict schema in ``body`` that strict mode rejects; None if all pass."""
    for index, tool in enumerate(body.get("tools") or []):
        function = tool.get("function") or {}
        if function.get("strict") is not True or "parameters" not in function:
            continue
        problem = violation(function["parameters"])
        if problem is not None:
            return _error(
                f"Invalid schema for function '{function.get('name')}': {problem}",
                param=f"tools[{index}].function.parameters",
                code="invalid_function_parameters",
            )
    response_format = body.get("response_format") or {}
    json_schema = response_format.get("json_schema") or {}
    if response_format.get("type") == "json_schema" and json_schema.get("strict") is True:
        problem = violation(json_schema.get("schema") or {})
        if problem is not None:
            return _error(
                f"Invalid schema for response_format '{json_schema.get('name')}': {problem}",
                param="response_format",
                code=None,
            )
    return None


def violation(schema: Any) -> str | None:
    """Why strict mode rejects ``schema`` (the first reason found, with its context), or None."""
    return next(_violations(schema, ()), None)


def _violations(schema: Any, context: Context) -> Iterator[str]:
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if isinstance(kind, list) and "object" in kind:
        # OpenAI checks each listed type as its own variant: ("type", "0") names the object one.
        yield from _object_violations(schema, (*context, "type", str(kind.index("object"))))
    elif kind == "object" or "properties" in schema:
        yield from _object_violations(schema, context)
    for keyword in _SUBSCHEMA_MAPS:
        for name, sub in (schema.get(keyword) or {}).items():
            yield from _violations(sub, (*context, keyword, name))
    for keyword in _SUBSCHEMA_LISTS:
        for index, sub in enumerate(schema.get(keyword) or []):
            yield from _violations(sub, (*context, keyword, str(index)))
    if isinstance(schema.get("items"), dict):
        yield from _violations(schema["items"], (*context, "items"))


def _object_violations(schema: Json, context: Context) -> Iterator[str]:
    where = f"In context={context!r}"
    if schema.get("additionalProperties") is not False:
        yield f"{where}, 'additionalProperties' is required to be supplied and to be false."
        return
    properties = list(schema.get("properties") or {})
    required = schema.get("required")
    if not isinstance(required, list):
        required = []
    missing = [name for name in properties if name not in required]
    if missing:
        yield (
            f"{where}, 'required' is required to be supplied and to be an array including every key in "
            f"properties. Missing '{missing[0]}'."
        )
        return
    extra = [name for name in required if name not in properties]
    if extra:
        yield (
            f"{where}, 'required' must be an array that includes every key in `properties`. "
            f"Extra required key '{extra[0]}' supplied."
        )


def _error(message: str, *, param: str, code: str | None) -> Json:
    return {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
