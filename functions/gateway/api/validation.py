"""Pydantic validation errors -> OpenAI's error codes, messages and ``param`` paths (``tools[0].name``)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from gateway.errors import InvalidRequestError
from gateway.schemas.tool_items import HOSTED_HISTORY_TYPES

_JSON_INVALID = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
    "library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
)
_NAME_LIMIT = 64
"""Longest field name echoed in full: the name is caller input, and an error should not repeat a megabyte of it."""
_HOSTED = ", ".join(f"'{kind}'" for kind in HOSTED_HISTORY_TYPES)
"""Hosted-tool history items share one tag in the input union; a client is told their real types."""
_PRIMITIVES = frozenset({"str", "int", "float", "bool", "list", "dict", "none", "is-instance", "literal"})
# Discriminator values pydantic inserts into ``loc`` for tagged unions.
_TAGS = frozenset(
    {
        "message",
        "function_call",
        "function_call_output",
        "reasoning",
        "item_reference",
        "function",
        "allowed_tools",
        "text",
        "json_object",
        "json_schema",
        "input_text",
        "input_image",
        "input_file",
        "output_text",
        "refusal",
    }
)
_CUSTOM_CODES = frozenset(
    {
        "object_above_max_properties",
        "property_name_above_max_length",
        "string_above_max_length",
        "invalid_type",
    }
)


def param_path(loc: tuple[int | str, ...]) -> str:
    """``('tools', 0, 'function', 'name')`` -> ``tools[0].name``, dropping pydantic's union labels; a name longer
    than ``_NAME_LIMIT`` characters is cut there and marked with an ellipsis."""
    path = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _is_label(part, previous):
            continue
        else:
            name = part if len(part) <= _NAME_LIMIT else part[:_NAME_LIMIT] + "…"
            path += f".{name}" if path else name
        previous = part
    return path


def _is_label(part: str, previous: int | str | None) -> bool:
    if "[" in part or part in _PRIMITIVES or part.startswith(("function-", "constrained-", "tagged-union")):
        return True
    return part in _TAGS and (isinstance(previous, int) or previous in ("tool_choice", "format", "input"))


def from_validation_error(exc: ValidationError) -> InvalidRequestError:
    """The one error OpenAI would report for this body."""
    errors = exc.errors(include_url=False)
    return _render(_pick(errors))


def _pick(errors: list[ErrorDetails]) -> ErrorDetails:
    def rank(error: ErrorDetails) -> int:
        kind = error["type"]
        if kind == "json_invalid":
            return 0
        if kind == "extra_forbidden" and len(error["loc"]) == 1:
            return 1
        if kind == "missing":
            return 2
        # A union reports a type mismatch for every member it was not; the real problem is elsewhere.
        if kind.endswith(("_type", "_parsing")):
            return 4
        return 3

    return min(errors, key=rank)


def _render(error: ErrorDetails) -> InvalidRequestError:
    kind = error["type"]
    loc = tuple(error["loc"])
    param = param_path(loc) or None
    value: Any = error.get("input")
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if kind == "json_invalid":
        return InvalidRequestError(_JSON_INVALID)
    if not loc:  # the body itself: null, an array, a number...
        return InvalidRequestError(
            f"Invalid request body: it must be a JSON object, but got {_json_type(value)} instead.",
            code="invalid_type",
        )
    if kind in _CUSTOM_CODES and loc and loc[0] == "metadata":
        return InvalidRequestError(error["msg"], param="metadata", code=kind)
    if kind == "missing":
        return InvalidRequestError(
            f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
        )
    if kind == "extra_forbidden":
        return InvalidRequestError(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _range_error(kind, param, value, ctx)
    if kind in ("string_too_long", "too_long"):
        what = "string" if kind == "string_too_long" else "array"
        limit = ctx.get("max_length")
        return InvalidRequestError(
            f"Invalid '{param}': {what} too long. Expected a {what} with maximum length {limit}, "
            f"but got a {what} with length {_length(value)} instead.",
            param=param,
            code=f"{what}_above_max_length",
        )
    if kind == "string_too_short":
        return InvalidRequestError(
            f"Invalid '{param}': string too short. Expected a string with minimum length "
            f"{ctx.get('min_length')}, but got an empty string instead.",
            param=param,
            code="string_below_min_length",
        )
    if kind == "union_tag_invalid":
        # pydantic's own wording names the discriminator function (``_tag()``): say what OpenAI would.
        expected = str(ctx.get("expected_tags", "")).replace("'hosted'", _HOSTED)
        return InvalidRequestError(
            f"Invalid value: '{ctx.get('tag')}'. Supported values are: {expected}.",
            param=f"{param}.type" if param else "type",
            code="invalid_value",
        )
    if kind in (
        "literal_error",
        "enum",
        "string_pattern_mismatch",
        "union_tag_not_found",
    ):
        return InvalidRequestError(f"Invalid value for '{param}': {error['msg']}.", param=param, code="invalid_value")
    return InvalidRequestError(
        f"Invalid type for '{param}': {error['msg'].lower()}, but got {_json_type(value)} instead.",
        param=param,
        code="invalid_type",
    )


def _range_error(kind: str, param: str | None, value: Any, ctx: dict[str, Any]) -> InvalidRequestError:
    number = "integer" if isinstance(value, int) and not isinstance(value, bool) else "decimal"
    below = kind.startswith("greater")
    bound = next(iter(ctx.values()), None)
    relation = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
    direction = "below minimum" if below else "above maximum"
    return InvalidRequestError(
        f"Invalid '{param}': {number} {direction} value. Expected a value {relation} {bound}, but got {value} instead.",
        param=param,
        code=f"{number}_{'below_min' if below else 'above_max'}_value",
    )


def _length(value: Any) -> int | str:
    try:
        return len(value)
    except TypeError:
        return "?"


def _json_type(value: Any) -> str:
    match value:
        case bool():
            return "a boolean"
        case int():
            return "an integer"
        case float():
            return "a decimal"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "an object"
        case None:
            return "null"
        case _:
            return "an unknown value"
