"""``GET /v1/models`` and ``GET /v1/models/{model}``: the models this deployment routes, in OpenAI's shape.

The listing comes from ``providers/catalog.py``. Codex's models manager asks ``GET /models?client_version=...``
and reads a different shape, ``{"models": [ModelInfo, ...]}`` (codex-rs ``ModelsResponse``); with that query
the listing also carries ``models``, one entry per model, so one URL serves both. Each entry states what the
gateway knows (the name, image input, reasoning levels of Bedrock models) and otherwise the values Codex
itself uses for a model it has no metadata for (``model_info_from_slug`` in codex-rs/models-manager).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response as HttpResponse
from pydantic_core import to_json

from gateway.api.deps import Services, authorized
from gateway.errors import NotFoundError
from gateway.providers.bedrock_models import profile_for
from gateway.providers.catalog import ListedModel, ModelCatalog

router = APIRouter(prefix="/v1/models")
JSON = "application/json"
_LEVELS = (
    ("low", "Fast responses with lighter reasoning"),
    ("medium", "Balances speed and reasoning depth"),
    ("high", "Greater reasoning depth for complex problems"),
)


@router.get("")
async def list_models(request: Request) -> HttpResponse:
    services, _ = await authorized(request)
    models = await _catalog(request, services).models()
    body: dict[str, Any] = {"object": "list", "data": [_model(model) for model in models]}
    if "client_version" in request.query_params:
        body["models"] = [codex_model_info(model, priority) for priority, model in enumerate(models, start=1)]
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


def codex_model_info(model: ListedModel, priority: int) -> dict[str, Any]:
    """A codex-rs ``ModelInfo`` for ``model``; ``priority`` orders Codex's picker (lowest first)."""
    bedrock_id = model.id.removeprefix("bedrock/") if model.owned_by == "bedrock" else None
    profile = profile_for(bedrock_id) if bedrock_id is not None else None
    reasons = profile is not None and profile.reasoning != "none"
    info: dict[str, Any] = {
        "slug": model.id,
        "display_name": model.id,
        "description": f"{model.id} through the Responses gateway ({model.owned_by}).",
        "supported_reasoning_levels": [{"effort": e, "description": d} for e, d in _LEVELS] if reasons else [],
        "shell_type": "default",
        "visibility": "list",
        "supported_in_api": True,
        "priority": priority,
        "additional_speed_tiers": [],
        "service_tiers": [],
        "default_service_tier": None,
        "availability_nux": None,
        "upgrade": None,
        "include_skills_usage_instructions": False,
        # The gateway has no summarizer: a reasoning item's summary stays empty.
        "supports_reasoning_summaries": False,
        "default_reasoning_summary": "none",
        "support_verbosity": False,
        "default_verbosity": None,
        # Sent upstream as a JSON function call, which every upstream model can make.
        "apply_patch_tool_type": "function",
        "web_search_tool_type": "text",
        "truncation_policy": {"mode": "bytes", "limit": 10_000},
        "supports_parallel_tool_calls": True,
        "supports_image_detail_original": False,
        "auto_compact_token_limit": None,
        "comp_hash": None,
        "effective_context_window_percent": 95,
        "experimental_supported_tools": [],
        "input_modalities": ["text"] if profile is not None and profile.family == "gpt_oss" else ["text", "image"],
        "supports_search_tool": False,
        "use_responses_lite": False,
        "prefer_websockets": False,
        "auto_review_model_override": None,
        "tool_mode": None,
        "multi_agent_version": None,
    }
    if reasons:
        info["default_reasoning_level"] = "medium"
    return info
