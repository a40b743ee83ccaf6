"""``GET /v1/models`` and ``GET /v1/models/{model}``: the models this deployment routes, in OpenAI's shape.

The listing comes from ``providers/catalog.py``. Codex's models manager asks ``GET /models?client_version=...``
and reads another shape, ``{"models": [ModelInfo, ...]}`` (codex-rs ``ModelsResponse``). Codex 0.171 refuses
an entry without the model's system prompt (``base_instructions`` or ``model_messages``), and an entry's prompt
replaces Codex's own for that model; the gateway has no prompt to give, so Codex gets an empty catalog beside
the list, which it accepts, keeping its built-in metadata (for a model it does not know, its fallback).
Checked with ``codex debug models`` against this route.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response as HttpResponse
from pydantic_core import to_json

from gateway.api.deps import Services, authorized
from gateway.errors import NotFoundError
from gateway.providers.catalog import ListedModel, ModelCatalog

router = APIRouter(prefix="/v1/models")
JSON = "application/json"


@router.get("")
async def list_models(request: Request) -> HttpResponse:
    services, _ = await authorized(request)
    models = await _catalog(request, services).models()
    body: dict[str, Any] = {"object": "list", "data": [_model(model) for model in models]}
    if "client_version" in request.query_params:
        body["models"] = []  # Codex's catalog: see the module docstring
    return HttpResponse(to_json(body), media_type=JSON)


@router.get("/{model_id:path}")
async def retrieve_model(request: Request) -> HttpResponse:
    services, _ = await authorized(request)
    model_id = request.path_params["model_id"]
    found = await _catalog(request, services).find(model_id)
    if found is None:
        raise NotFoundError(f"The model '{model_id}' does not exist", param="model", code="model_not_found")
    return HttpResponse(to_json(_model(found)), media_type=JSON)


def _catalog(request: Request, services: Services) -> ModelCatalog:
    """One catalog (and its cache of upstream listings) per app, built on first use like the services."""
    catalog: ModelCatalog | None = getattr(request.app.state, "model_catalog", None)
    if catalog is None:
        catalog = request.app.state.model_catalog = ModelCatalog(services.settings, services.providers)
    return catalog


def _model(model: ListedModel) -> dict[str, Any]:
    return {"id": model.id, "object": "model", "created": model.created, "owned_by": model.owned_by}
