"""Query-string parsing the way the OpenAI SDKs send it: arrays as ``include[]=a&include[]=b``."""

from __future__ import annotations

from starlette.datastructures import QueryParams

from gateway.errors import InvalidRequestError


def array(query: QueryParams, name: str) -> list[str]:
    return [*query.getlist(f"{name}[]"), *query.getlist(name)]


def integer(query: QueryParams, name: str, *, default: int | None, low: int, high: int | None) -> int | None:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequestError(
            f"Invalid type for '{name}': expected an integer, but got a string instead.",
            param=name,
            code="invalid_type",
        ) from None
    if value < low:
        raise InvalidRequestError(
            f"Invalid '{name}': integer below minimum value. Expected a value >= {low}, but got {value} instead.",
            param=name,
            code="integer_below_min_value",
        )
    if high is not None and value > high:
        raise InvalidRequestError(
            f"Invalid '{name}': integer above maximum value. Expected a value <= {high}, but got {value} instead.",
            param=name,
            code="integer_above_max_value",
        )
    return value


def boolean(query: QueryParams, name: str) -> bool:
    raw = query.get(name)
    if raw is None:
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise InvalidRequestError(f"Invalid value for '{name}': expected a boolean.", param=name, code="invalid_type")


def choice(query: QueryParams, name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = query.get(name, default)
    if raw not in allowed:
        raise InvalidRequestError(
            f"Invalid value: '{raw}'. Supported values are: {', '.join(repr(v) for v in allowed)}.",
            param=name,
            code="invalid_value",
        )
    return raw
