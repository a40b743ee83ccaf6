"""The Response object and what it carries, as both judges in RESPONSES_2026.md have it: OpenAI's OpenAPI schema
and Open Responses' ``ResponseResource``. Every field is present on every reply, null when unset, except two that
OpenAI's schema types as non-null: ``user`` is left out while unset, and ``usage``, which Open Responses requires on
every Response, is all zeros until the response has finished (nothing has been used yet)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_serializer

from gateway.schemas.base import WireModel
from gateway.schemas.tool_items import OutputItem

ResponseStatus = Literal["queued", "in_progress", "completed", "failed", "cancelled", "incomplete"]


class InputTokensDetails(WireModel):
    cached_tokens: int = 0
    cache_write_tokens: int = 0


class OutputTokensDetails(WireModel):
    reasoning_tokens: int = 0


class ResponseUsage(WireModel):
    input_tokens: int
    input_tokens_details: InputTokensDetails = Field(default_factory=InputTokensDetails)
    output_tokens: int
    output_tokens_details: OutputTokensDetails = Field(default_factory=OutputTokensDetails)
    total_tokens: int


class ResponseError(WireModel):
    """Why a response failed: ``code`` and ``message`` only, no type or param."""

    code: str
    message: str


class IncompleteDetails(WireModel):
    reason: Literal["max_output_tokens", "content_filter"]


def _absent_when_none() -> Any:
    return Field(default=None, exclude_if=lambda value: value is None)


class Response(WireModel):
    """OpenAI's Response object, field for field (``output_text`` is SDK-only and never sent)."""

    id: str
    object: Literal["response"] = "response"
    created_at: int
    status: ResponseStatus
    background: bool = False
    completed_at: int | None = None
    error: ResponseError | None = None
    incomplete_details: IncompleteDetails | None = None
    instructions: str | None = None
    max_output_tokens: int | None = None
    max_tool_calls: int | None = None
    model: str
    output: list[OutputItem] = Field(default_factory=list)
    parallel_tool_calls: bool = True
    previous_response_id: str | None = None
    prompt_cache_key: str | None = None
    prompt_cache_retention: str | None = None
    reasoning: dict[str, Any] = Field(default_factory=lambda: {"effort": None, "summary": None})
    safety_identifier: str | None = None
    service_tier: str = "default"
    store: bool = True
    temperature: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    """Both required by Open Responses' ``ResponseResource``: the request's values, 0 when it sent none."""
    text: dict[str, Any] = Field(default_factory=lambda: {"format": {"type": "text"}, "verbosity": "medium"})
    tool_choice: Any = "auto"
    tools: list[dict[str, Any]] = Field(default_factory=list)
    top_logprobs: int = 0
    top_p: float = 1.0
    truncation: Literal["auto", "disabled"] = "disabled"
    usage: ResponseUsage = Field(default_factory=lambda: ResponseUsage(input_tokens=0, output_tokens=0, total_tokens=0))
    """Zeros until the response finishes: Open Responses requires the field and OpenAI's schema has no ``null``."""
    user: str | None = _absent_when_none()
    metadata: dict[str, str] = Field(default_factory=dict)
    conversation: dict[str, str] | None = None
    moderation: dict[str, Any] | None = None
    """Moderation results; the gateway moderates nothing, so always null (a request's ``moderation`` is accepted)."""


class CompactedResponse(WireModel):
    """``POST /v1/responses/compact``'s reply: the user messages, then one ``compaction`` item."""

    id: str
    object: Literal["response.compaction"] = "response.compaction"
    created_at: int
    output: list[OutputItem]
    usage: ResponseUsage


class DeletedResponse(WireModel):
    id: str
    object: Literal["response"] = "response"
    deleted: Literal[True] = True


class ItemList(WireModel):
    """A page of ``GET /v1/responses/{id}/input_items``."""

    object: Literal["list"] = "list"
    data: list[dict[str, Any]]
    first_id: str | None
    last_id: str | None
    """``None`` for an empty page, sent as ``""``: OpenAI's ``ResponseItemList`` requires both as strings."""
    has_more: bool

    @field_serializer("first_id", "last_id")
    def _empty_page(self, value: str | None) -> str:
        return "" if value is None else value
