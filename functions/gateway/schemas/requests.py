"""``POST /v1/responses`` request body, with OpenAI's limits on ``Field`` so violations name their ``param``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from gateway.schemas.base import RequestModel
from gateway.schemas.tool_items import InputItem
from gateway.schemas.tools import NAME_PATTERN, Tool, ToolChoice

Include = Literal[
    "web_search_call.action.sources",
    "web_search_call.results",
    "code_interpreter_call.outputs",
    "computer_call_output.output.image_url",
    "file_search_call.results",
    "message.input_image.image_url",
    "message.output_text.logprobs",
    "reasoning.encrypted_content",
]


class FormatText(RequestModel):
    type: Literal["text"]


class FormatJsonObject(RequestModel):
    type: Literal["json_object"]


class FormatJsonSchema(RequestModel):
    type: Literal["json_schema"]
    name: str = Field(pattern=NAME_PATTERN, max_length=64)
    schema_: dict[str, Any] = Field(alias="schema")
    description: str | None = None
    strict: bool | None = False


TextFormat = Annotated[FormatText | FormatJsonObject | FormatJsonSchema, Field(discriminator="type")]


class TextConfig(RequestModel):
    format: TextFormat = Field(default_factory=lambda: FormatText(type="text"))
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningConfig(RequestModel):
    effort: Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None
    context: Any = None
    mode: Any = None


class StreamOptions(RequestModel):
    include_obfuscation: bool | None = None


class ConversationRef(RequestModel):
    id: str


class PromptCacheOptions(RequestModel):
    """A caching hint: mapped to Bedrock ``cachePoint`` where the model caches, otherwise ignored."""

    mode: Literal["implicit", "explicit"] | None = None
    ttl: str | None = None


class ContextManagement(RequestModel):
    """Compact the context inside a create once it passes ``compact_threshold`` input tokens."""

    type: Literal["compaction"]
    compact_threshold: int | None = Field(default=None, ge=1000)


class ResponseCreateParams(RequestModel):
    """Every field of the create request. Unknown fields are rejected with ``unknown_parameter``."""

    model: str | None = None
    input: Annotated[str, Field(max_length=10_485_760)] | list[InputItem] | None = None
    instructions: str | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    background: bool = False
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_output_tokens: int | None = Field(default=None, ge=16)
    max_tool_calls: int | None = Field(default=None, ge=1)
    tools: list[Tool] = Field(default_factory=list)
    tool_choice: ToolChoice = "auto"
    parallel_tool_calls: bool = True
    reasoning: ReasoningConfig | None = None
    truncation: Literal["auto", "disabled"] = "disabled"
    previous_response_id: str | None = None
    conversation: str | ConversationRef | None = None
    store: bool = True
    metadata: dict[str, str] | None = None
    text: TextConfig | None = None
    include: list[Include] | None = None
    user: str | None = None
    safety_identifier: str | None = Field(default=None, max_length=64)
    prompt_cache_key: str | None = Field(default=None, max_length=64)
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    prompt_cache_options: PromptCacheOptions | None = None
    service_tier: Literal["auto", "default", "flex", "scale", "priority", "fast", "ultrafast"] | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    seed: int | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    top_k: int | None = Field(default=None, ge=0)
    repetition_penalty: float | None = Field(default=None, gt=0)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Forwarded to upstreams that take it, echoed on the Response (Open Responses)."""
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    """Forwarded to upstreams that take it, echoed on the Response (Open Responses)."""
    client_metadata: dict[str, str] | None = None
    """Codex CLI's per-request tags: kept on the stored record, never echoed or forwarded upstream."""
    prompt: dict[str, Any] | None = None
    """Stored prompt templates are not supported; a non-null value is refused."""
    context_management: Annotated[list[ContextManagement], Field(max_length=1)] | None = None
    moderation: Any = None
    personality: Any = None

    @field_validator("metadata", mode="before")
    @classmethod
    def _check_metadata(cls, value: Any) -> Any:
        """OpenAI's limits: at most 16 pairs, keys up to 64 characters, string values up to 512."""
        if value is None:
            return value
        if not isinstance(value, dict):
            raise PydanticCustomError("invalid_type", "Invalid type for 'metadata': expected an object.")
        if len(value) > 16:
            raise PydanticCustomError(
                "object_above_max_properties",
                "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, "
                "but got an object with {count} properties instead.",
                {"count": len(value)},
            )
        for key, item in value.items():
            if len(key) > 64:
                raise PydanticCustomError(
                    "property_name_above_max_length",
                    "Invalid 'metadata': property name too long. Expected a name of at most 64 characters.",
                )
            if not isinstance(item, str):
                raise PydanticCustomError(
                    "invalid_type", "Invalid type for 'metadata.{key}': expected a string.", {"key": key}
                )
            if len(item) > 512:
                raise PydanticCustomError(
                    "string_above_max_length",
                    "Invalid 'metadata.{key}': string too long. Expected a string of at most 512 characters.",
                    {"key": key},
                )
        return value


class ResponseCompactParams(RequestModel):
    """``POST /v1/responses/compact``: the context to compact, as a create would assemble it."""

    model: str | None = None
    input: Annotated[str, Field(max_length=10_485_760)] | list[InputItem] | None = None
    instructions: str | None = None
    previous_response_id: str | None = None
    prompt_cache_key: str | None = Field(default=None, max_length=64)
    prompt_cache_options: PromptCacheOptions | None = None
    prompt_cache_retention: Literal["in_memory", "24h"] | None = None
    service_tier: Literal["auto", "default", "flex", "scale", "priority", "fast", "ultrafast"] | None = None
