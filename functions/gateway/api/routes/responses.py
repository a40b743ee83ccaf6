"""``/v1/responses`` and its companions."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal, cast

from fastapi import APIRouter, Request
from fastapi.responses import Response as HttpResponse
from pydantic import ValidationError
from pydantic_core import to_json

from gateway.api import query
from gateway.api.deps import Services, authorized
from gateway.api.sse import event_stream
from gateway.api.validation import from_validation_error
from gateway.domain.limits import Reservation
from gateway.domain.run import Run
from gateway.errors import GatewayError, InvalidRequestError, UpstreamError
from gateway.schemas.events import StreamEvent
from gateway.schemas.requests import ResponseCompactParams, ResponseCreateParams
from gateway.schemas.responses import DeletedResponse

router = APIRouter(prefix="/v1/responses")
logger = logging.getLogger("gateway")
JSON = "application/json"
OMITTED_TOOLS_HEADER = "x-responses-omitted-tools"


def parse_create(body: bytes) -> ResponseCreateParams:
    try:
        return ResponseCreateParams.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise from_validation_error(exc) from None


@router.post("")
async def create_response(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    body = await request.body()
    params = parse_create(body)
    run = await services.responses.prepare(tenant, params)
    reservation = await services.responses.metering.admit(run, request.state.principal, len(body))
    headers = {**_omitted(run.tools.omitted, run.shell.id), **reservation.headers}
    if params.background:
        queued = await services.responses.submit(run, reservation)
        if params.stream:
            # The live stream is a replay from 0 that follows the worker: the same events a later GET gets,
            # and closing it does not stop the work.
            return _sse(await services.responses.replay(tenant, queued.id, None), services, headers)
        return HttpResponse(queued.model_dump_json(), media_type=JSON, headers=headers)
    failure = await _open(run, services, reservation)
    if params.stream:
        return _sse(run.events(failure), services, headers, on_close=run.aclose)
    response = await run.result(failure)
    return HttpResponse(response.model_dump_json(), media_type=JSON, headers=headers)


async def _open(run: Run, services: Services, reservation: Reservation) -> UpstreamError | None:
    """Start the model call: an upstream failure is returned (the run ends failed, stored: a stream says
    response.failed, a buffered call a 502); a refusal (4xx) is raised, and gives back what was reserved."""
    try:
        await run.open()
    except UpstreamError as exc:
        return exc
    except GatewayError as exc:
        await services.responses.metering.release(reservation)
        exc.headers.update(reservation.headers)
        raise
    return None


def _omitted(tool_types: list[str], response_id: str) -> dict[str, str]:
    """Hosted tools no upstream can run were left out: say so, since clients such as Codex send them by default."""
    if not tool_types:
        return {}
    named = ",".join(dict.fromkeys(tool_types))
    logger.info("omitted tools the gateway cannot run: %s (response %s)", named, response_id)
    return {OMITTED_TOOLS_HEADER: named}


def _sse(
    events: AsyncIterator[StreamEvent],
    services: Services,
    headers: dict[str, str] | None = None,
    *,
    on_close: Callable[[], Awaitable[None]] | None = None,
) -> HttpResponse:
    return event_stream(events, services.settings.keepalive_seconds, headers, on_close=on_close)


@router.post("/compact")
async def compact_response(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    body = await request.body()
    try:
        params = ResponseCompactParams.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise from_validation_error(exc) from None
    run = await services.responses.prepare_compact(tenant, params)
    reservation = await services.responses.metering.admit(run, request.state.principal, len(body))
    compacted = await services.responses.compact(run)
    return HttpResponse(compacted.model_dump_json(), media_type=JSON, headers=reservation.headers)


@router.get("/{response_id}")
async def retrieve_response(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    response_id = request.path_params["response_id"]
    params = request.query_params
    if query.boolean(params, "stream"):
        after = query.integer(params, "starting_after", default=None, low=-1, high=None)
        return _sse(await services.responses.replay(tenant, response_id, after), services)
    response = await services.responses.retrieve(tenant, response_id, query.array(params, "include"))
    return HttpResponse(response.model_dump_json(), media_type=JSON)


@router.delete("/{response_id}")
async def delete_response(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    response_id = request.path_params["response_id"]
    await services.responses.delete(tenant, response_id)
    return HttpResponse(DeletedResponse(id=response_id).model_dump_json(), media_type=JSON)


@router.post("/{response_id}/cancel")
async def cancel_response(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    response_id = request.path_params["response_id"]
    response = await services.responses.cancel(tenant, response_id)
    return HttpResponse(response.model_dump_json(), media_type=JSON)


@router.get("/{response_id}/input_items")
async def list_input_items(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    response_id = request.path_params["response_id"]
    params = request.query_params
    limit = query.integer(params, "limit", default=20, low=1, high=100)
    order = query.choice(params, "order", ("asc", "desc"), "desc")
    page = await services.responses.input_items(
        tenant,
        response_id,
        limit=cast(int, limit),
        order=cast(Literal["asc", "desc"], order),
        after=params.get("after"),
        before=params.get("before"),
        include=query.array(params, "include"),
    )
    return HttpResponse(page.model_dump_json(), media_type=JSON)


_COUNT_FIELDS = frozenset(
    {
        "conversation",
        "input",
        "instructions",
        "model",
        "parallel_tool_calls",
        "personality",
        "previous_response_id",
        "reasoning",
        "text",
        "tool_choice",
        "tools",
        "truncation",
    }
)
"""The fields of OpenAI's ``InputTokenCountParams``: the create fields that shape the input, nothing else."""


@router.post("/input_tokens")
async def count_input_tokens(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    params = parse_create(await request.body())
    extra = sorted(params.model_fields_set - _COUNT_FIELDS)
    if extra:
        raise InvalidRequestError(f"Unknown parameter: '{extra[0]}'.", param=extra[0], code="unknown_parameter")
    tokens = await services.responses.count_input_tokens(tenant, params)
    return HttpResponse(to_json({"object": "response.input_tokens", "input_tokens": tokens}), media_type=JSON)
