"""``/v1/conversations`` and its items (``domain/conversations.py``)."""

from __future__ import annotations

from typing import Literal, TypeVar, cast

from fastapi import APIRouter, Request
from fastapi.responses import Response as HttpResponse
from pydantic import BaseModel, ValidationError

from gateway.api import query
from gateway.api.deps import authorized
from gateway.api.validation import from_validation_error
from gateway.schemas.conversations import (
    ConversationCreateParams,
    ConversationDeleted,
    ConversationUpdateParams,
    ItemCreateParams,
)

router = APIRouter(prefix="/v1/conversations")
JSON = "application/json"
M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], body: bytes) -> M:
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _json(model: BaseModel) -> HttpResponse:
    return HttpResponse(model.model_dump_json(), media_type=JSON)


@router.post("")
async def create_conversation(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    params = _parse(ConversationCreateParams, await request.body())
    return _json(await services.conversations.create(tenant, params.items or [], params.metadata or {}))


@router.get("/{conversation_id}")
async def retrieve_conversation(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    return _json(await services.conversations.retrieve(tenant, request.path_params["conversation_id"]))


@router.post("/{conversation_id}")
async def update_conversation(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    params = _parse(ConversationUpdateParams, await request.body())
    conversation = request.path_params["conversation_id"]
    return _json(await services.conversations.update(tenant, conversation, params.metadata or {}))


@router.delete("/{conversation_id}")
async def delete_conversation(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    conversation = request.path_params["conversation_id"]
    await services.conversations.delete(tenant, conversation)
    return _json(ConversationDeleted(id=conversation))


@router.post("/{conversation_id}/items")
async def create_items(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    params = _parse(ItemCreateParams, await request.body())
    conversation = request.path_params["conversation_id"]
    include = query.array(request.query_params, "include")
    return _json(await services.conversations.add_items(tenant, conversation, params.items, include))


@router.get("/{conversation_id}/items")
async def list_items(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    params = request.query_params
    page = await services.conversations.list_items(
        tenant,
        request.path_params["conversation_id"],
        limit=cast(int, query.integer(params, "limit", default=20, low=1, high=100)),
        order=cast(Literal["asc", "desc"], query.choice(params, "order", ("asc", "desc"), "desc")),
        after=params.get("after"),
        include=query.array(params, "include"),
    )
    return _json(page)


@router.get("/{conversation_id}/items/{item_id}")
async def retrieve_item(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    path = request.path_params
    include = query.array(request.query_params, "include")
    return _json(await services.conversations.get_item(tenant, path["conversation_id"], path["item_id"], include))


@router.delete("/{conversation_id}/items/{item_id}")
async def delete_item(request: Request) -> HttpResponse:
    services, tenant = await authorized(request)
    path = request.path_params
    return _json(await services.conversations.delete_item(tenant, path["conversation_id"], path["item_id"]))
