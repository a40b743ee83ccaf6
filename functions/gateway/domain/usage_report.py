"""The usage ledger read as OpenAI's admin Usage API, ``GET /v1/organization/usage/completions``.

Shapes from OpenAI's OpenAPI spec (``UsageResponse``, ``UsageTimeBucket``, ``UsageCompletionsResult``): a ``page``
of time ``bucket``s from ``start_time`` (inclusive) to ``end_time`` (exclusive), each holding one result per
group (``project_id`` is the tenant, ``api_key_id`` the key's public id). The ledger keeps days and hours, so
``bucket_width`` is ``1d`` or ``1h``; ``1m`` is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.domain.limits import DAY
from gateway.errors import InvalidRequestError

WIDTHS = {"1d": DAY, "1h": 3600}
LIMITS = {"1d": (7, 31), "1h": (24, 168)}
"""``bucket_width`` -> (default, maximum) buckets a page, as OpenAI has them."""
GROUPS = ("project_id", "user_id", "api_key_id", "model", "batch", "service_tier")
_PAGE = "page_"


class Row(Protocol):
    """One ledger row (``store/usage.py``'s ``LedgerRow``)."""

    @property
    def tenant(self) -> str: ...
    @property
    def key_id(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def counts(self) -> dict[str, int]: ...


@dataclass(frozen=True, slots=True)
class Query:
    start_time: int
    end_time: int
    bucket_width: str = "1d"
    group_by: Sequence[str] = ()
    project_ids: Sequence[str] = ()
    api_key_ids: Sequence[str] = ()
    models: Sequence[str] = ()
    limit: int | None = None
    page: str | None = None


def report(query: Query, rows_of_day: Callable[[int, bool], Iterable[Row]]) -> dict[str, Any]:
    """The page of buckets ``query`` asks for; ``rows_of_day(day, hourly)`` reads one UTC day of the ledger."""
    width = WIDTHS.get(query.bucket_width)
    if width is None:
        raise InvalidRequestError(
            f"bucket_width '{query.bucket_width}' is not kept by this gateway: use '1d' or '1h'.",
            param="bucket_width",
            code="invalid_value",
        )
    unknown = [group for group in query.group_by if group not in GROUPS]
    if unknown:
        raise InvalidRequestError(f"Invalid group_by value: '{unknown[0]}'.", param="group_by", code="invalid_value")
    default, most = LIMITS[query.bucket_width]
    limit = query.limit or default
    if not 1 <= limit <= most:
        raise InvalidRequestError(f"limit must be between 1 and {most}.", param="limit", code="invalid_value")
    first = _cursor(query.page) if query.page else query.start_time - query.start_time % width
    starts = list(range(first, query.end_time, width))[: limit + 1]
    hourly = width < DAY
    days: dict[int, list[Row]] = {}
    buckets = []
    for start in starts[:limit]:
        day = start // DAY
        if day not in days:
            days[day] = [row for row in rows_of_day(day, hourly) if _wanted(row, query)]
        rows = [row for row in days[day] if start <= row.start < start + width]
        buckets.append(
            {"object": "bucket", "start_time": start, "end_time": start + width, "results": _grouped(rows, query)}
        )
    more = len(starts) > limit
    return {
        "object": "page",
        "data": buckets,
        "has_more": more,
        "next_page": f"{_PAGE}{starts[limit]}" if more else None,
    }


def _cursor(page: str) -> int:
    try:
        return int(page.removeprefix(_PAGE))
    except ValueError:
        raise InvalidRequestError("Invalid page cursor.", param="page", code="invalid_value") from None


def _wanted(row: Row, query: Query) -> bool:
    return (
        (not query.project_ids or row.tenant in query.project_ids)
        and (not query.api_key_ids or row.key_id in query.api_key_ids)
        and (not query.models or row.model in query.models)
    )


def _grouped(rows: list[Row], query: Query) -> list[dict[str, Any]]:
    groups: dict[tuple[str | None, ...], dict[str, int]] = {}
    for row in rows:
        key = (
            row.tenant if "project_id" in query.group_by else None,
            row.key_id if "api_key_id" in query.group_by else None,
            row.model if "model" in query.group_by else None,
        )
        total = groups.setdefault(key, {})
        for name, value in row.counts.items():
            total[name] = total.get(name, 0) + value
    return [_result(key, counts) for key, counts in groups.items()]


def _result(key: tuple[str | None, ...], counts: dict[str, int]) -> dict[str, Any]:
    project, api_key, model = key
    cached, written = counts.get("cached_tokens", 0), counts.get("cache_write_tokens", 0)
    input_tokens = counts.get("input_tokens", 0)
    return {
        "object": "organization.usage.completions.result",
        "input_tokens": input_tokens,
        "output_tokens": counts.get("output_tokens", 0),
        "input_cached_tokens": cached,
        "input_cache_write_tokens": written,
        "input_uncached_tokens": max(input_tokens - cached - written, 0),
        "num_model_requests": counts.get("requests", 0),
        "project_id": project,
        "user_id": None,
        "api_key_id": api_key,
        "model": model,
        "batch": None,
        "service_tier": None,
    }
