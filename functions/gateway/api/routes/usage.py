"""``GET /v1/organization/usage/completions``: the usage ledger in OpenAI's admin Usage API shape, for admin keys."""

from __future__ import annotations

import time
from asyncio import to_thread

from fastapi import APIRouter, Request
from fastapi.responses import Response as HttpResponse
from pydantic_core import to_json

from gateway.api import query
from gateway.api.deps import authorized
from gateway.domain.usage_report import Query, report
from gateway.errors import InvalidRequestError, PermissionDeniedError

router = APIRouter(prefix="/v1/organization/usage")
JSON = "application/json"


@router.get("/completions")
async def completions_usage(request: Request) -> HttpResponse:
    services, _ = await authorized(request)
    if not request.state.principal.admin:
        raise PermissionDeniedError(
            "You have insufficient permissions for this operation: the Usage API needs an admin key "
            "(RESPONSES_ADMIN_KEYS, or `keys create --admin`).",
            code="insufficient_permissions",
        )
    params = request.query_params
    start = query.integer(params, "start_time", default=None, low=0, high=None)
    if start is None:
        raise InvalidRequestError(
            "Missing required parameter: 'start_time'.", param="start_time", code="missing_required_parameter"
        )
    asked = Query(
        start_time=start,
        end_time=query.integer(params, "end_time", default=None, low=start + 1, high=None) or int(time.time()) + 1,
        bucket_width=params.get("bucket_width", "1d"),
        group_by=query.array(params, "group_by"),
        project_ids=query.array(params, "project_ids"),
        api_key_ids=query.array(params, "api_key_ids"),
        models=query.array(params, "models"),
        limit=query.integer(params, "limit", default=None, low=1, high=None),
        page=params.get("page"),
    )
    # Reading the ledger is a few Queries (one per day): off the event loop, like every store call.
    page = await to_thread(lambda: report(asked, lambda day, hourly: list(services.usage.rows(day, hourly))))
    return HttpResponse(to_json(page), media_type=JSON)
