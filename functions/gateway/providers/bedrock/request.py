"""A ``ModelRequest`` → the ``ConverseStream`` request, plus what the stream needs to know about it.

Every Responses option either maps onto a Converse field, is handled elsewhere in the gateway, or is
refused: a parameter Bedrock cannot honour is a 400 ``unsupported_parameter`` naming it, unless the
operator set ``RESPONSES_DROP_UNSUPPORTED_PARAMS``. The README's Bedrock table lists each one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from gateway.domain.upstream import ModelRequest
from gateway.errors import InvalidRequestError
from gateway.providers.bedrock.media import MediaLoader
from gateway.providers.bedrock.messages import MessageBuilder
from gateway.providers.bedrock.models import ModelProfile, profile_for
from gateway.providers.bedrock.tools import ToolPlan, plan_tools
from gateway.schemas.requests import FormatJsonSchema, ResponseCreateParams

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime.type_defs import (
        CachePointBlockTypeDef,
        ConverseStreamRequestTypeDef,
        InferenceConfigurationTypeDef,
        JsonSchemaDefinitionTypeDef,
        MessageTypeDef,
        OutputConfigTypeDef,
        ServiceTierTypeDef,
        SystemContentBlockTypeDef,
        ToolConfigurationTypeDef,
    )

Effort = Literal["minimal", "low", "medium", "high", "xhigh", "max"]

_THINKING_BUDGET: dict[Effort, int] = {
    "minimal": 1024,
    "low": 2048,
    "medium": 8192,
    "high": 16384,
    "xhigh": 20480,
    "max": 23552,
}
"""Claude ``budget_tokens`` per effort. Budgets plus ``_ANSWER_ROOM`` stay under Claude Opus 4's 32k cap."""
_MIN_THINKING_BUDGET = 1024
_ANSWER_ROOM = 8192
"""Tokens left for the answer when thinking is on and ``max_output_tokens`` is not set."""
_THREE_LEVELS: dict[Effort, str] = {
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "high",
    "max": "high",
}
"""Nova 2 ``maxReasoningEffort`` and gpt-oss ``reasoning_effort`` know low, medium and high."""


@dataclass(frozen=True, slots=True)
class ConversePlan:
    body: ConverseStreamRequestTypeDef
    output_tool: str | None
    """The synthetic structured-output tool, whose input the stream reports as output text."""
    single_tool_call: bool
    """``parallel_tool_calls: false``: report only the first function call of the turn."""


class _Options:
    """Collects the option fields of the request, refusing (or dropping) what Bedrock cannot take."""

    def __init__(self, model: str, profile: ModelProfile, drop_unsupported: bool) -> None:
        self.model = model
        self.profile = profile
        self.drop_unsupported = drop_unsupported
        self.inference: InferenceConfigurationTypeDef = {}
        self.additional: dict[str, Any] = {}
        self.output: OutputConfigTypeDef = {}
        self.thinking = False

    def unsupported(self, param: str) -> None:
        """Refuse ``param`` with a 400, or return so the caller leaves it out (operator opted in)."""
        if not self.drop_unsupported:
            raise InvalidRequestError(
                f"Unsupported parameter: '{param}' is not supported with the Bedrock model '{self.model}'.",
                param=param,
                code="unsupported_parameter",
            )

    def check_unsupported(self, params: ResponseCreateParams) -> None:
        if params.seed is not None:
            self.unsupported("seed")
        if params.repetition_penalty is not None:
            self.unsupported("repetition_penalty")
        if params.top_logprobs:
            self.unsupported("top_logprobs")
        if params.presence_penalty:
            self.unsupported("presence_penalty")
        if params.frequency_penalty:
            self.unsupported("frequency_penalty")
        if params.include and "message.output_text.logprobs" in params.include:
            self.unsupported("include")
        if params.text is not None and params.text.verbosity not in (None, "medium"):
            self.unsupported("text.verbosity")

    def sampling(self, params: ResponseCreateParams) -> None:
        if params.max_output_tokens is not None:
            self.inference["maxTokens"] = params.max_output_tokens
        if params.temperature is not None:
            if params.temperature > 1:
                raise InvalidRequestError(
                    "Bedrock models take a temperature between 0 and 1.", param="temperature", code="invalid_value"
                )
            self.inference["temperature"] = params.temperature
        if params.top_p is not None:
            self.inference["topP"] = params.top_p
        if params.stop:
            self.inference["stopSequences"] = [params.stop] if isinstance(params.stop, str) else params.stop
        if params.top_k is not None:
            if self.profile.family == "nova":
                self.additional["inferenceConfig"] = {"topK": params.top_k}
            else:
                self.additional["top_k"] = params.top_k

    def reasoning(self, params: ResponseCreateParams) -> None:
        effort = params.reasoning.effort if params.reasoning else None
        if effort is None or effort == "none":
            return
        match self.profile.reasoning:
            case "none":
                self.unsupported("reasoning.effort")
            case "claude_budget":
                budget = self._thinking_budget(effort, params.max_output_tokens)
                self.additional["thinking"] = {"type": "enabled", "budget_tokens": budget}
                self.inference.setdefault("maxTokens", budget + _ANSWER_ROOM)
                self.thinking = True
            case "claude_adaptive":
                self.additional["thinking"] = {"type": "adaptive"}
                self.output["effort"] = "low" if effort == "minimal" else effort
                self.thinking = True
            case "nova":
                self.additional["reasoningConfig"] = {"type": "enabled", "maxReasoningEffort": _THREE_LEVELS[effort]}
            case "gpt_oss":
                self.additional["reasoning_effort"] = _THREE_LEVELS[effort]

    @staticmethod
    def _thinking_budget(effort: Effort, max_output_tokens: int | None) -> int:
        """Claude's budget must be at least 1024 and below ``maxTokens``, which counts thinking too."""
        budget = _THINKING_BUDGET[effort]
        if max_output_tokens is None:
            return budget
        budget = max(_MIN_THINKING_BUDGET, min(budget, max_output_tokens // 2))
        if budget >= max_output_tokens:
            raise InvalidRequestError(
                f"max_output_tokens must be above {_MIN_THINKING_BUDGET} when reasoning is on for this model: "
                "it counts reasoning tokens too.",
                param="max_output_tokens",
                code="integer_below_min_value",
            )
        return budget

    def structured_output(self, params: ResponseCreateParams, tools: ToolPlan) -> None:
        fmt = params.text.format if params.text else None
        if isinstance(fmt, FormatJsonSchema) and self.profile.native_structured_output:
            definition: JsonSchemaDefinitionTypeDef = {"schema": json.dumps(fmt.schema_), "name": fmt.name}
            if fmt.description:
                definition["description"] = fmt.description
            self.output["textFormat"] = {"type": "json_schema", "structure": {"jsonSchema": definition}}
        if tools.output_tool is not None and self.thinking:
            raise InvalidRequestError(
                f"text.format '{fmt.type if fmt else 'text'}' is produced through a forced tool call on "
                f"'{self.model}', and Claude does not allow forced tool use with reasoning. Leave out "
                "reasoning.effort, or use a Claude 4.5 or later model (native structured output).",
                param="text.format",
                code="unsupported_value",
            )

    def service_tier(self, params: ResponseCreateParams) -> ServiceTierTypeDef | None:
        """``flex`` and ``priority`` are Bedrock tiers too; ``auto``/``default`` send nothing; the rest refuse."""
        match params.service_tier:
            case "flex" | "priority" as tier:
                return {"type": tier}
            case "scale" | "fast" | "ultrafast":
                self.unsupported("service_tier")
        return None


async def build_request(request: ModelRequest, media: MediaLoader, *, drop_unsupported: bool) -> ConversePlan:
    params = request.params
    profile = profile_for(request.model)
    options = _Options(request.model, profile, drop_unsupported)
    options.check_unsupported(params)
    options.sampling(params)
    options.reasoning(params)
    tools = plan_tools(request, profile)
    options.structured_output(params, tools)
    service_tier = options.service_tier(params)

    builder = MessageBuilder(media, tools_visible=tools.user_tools_visible)
    messages = await builder.build(request.instructions, request.items)
    if profile.prompt_caching and _wants_caching(params):
        _add_cache_points(messages, builder.system, tools.config)
    body: ConverseStreamRequestTypeDef = {"modelId": request.model, "messages": messages}
    if builder.system:
        body["system"] = builder.system
    if options.inference:
        body["inferenceConfig"] = options.inference
    if tools.config is not None:
        body["toolConfig"] = tools.config
    if options.additional:
        body["additionalModelRequestFields"] = options.additional
    if options.output:
        body["outputConfig"] = options.output
    if service_tier is not None:
        body["serviceTier"] = service_tier
    return ConversePlan(body=body, output_tool=tools.output_tool, single_tool_call=not params.parallel_tool_calls)


def _wants_caching(params: ResponseCreateParams) -> bool:
    """OpenAI caches prompts by itself; a client that names a cache (Codex sends ``prompt_cache_key`` on every
    turn) or a retention asks for it, so Bedrock gets the explicit cache points it needs."""
    return bool(params.prompt_cache_key or params.prompt_cache_retention or params.prompt_cache_options)


def _add_cache_points(
    messages: list[MessageTypeDef], system: list[SystemContentBlockTypeDef], tools: ToolConfigurationTypeDef | None
) -> None:
    """A ``cachePoint`` after the system prompt, after the tools and after the latest message: three of the four a
    Claude request may have, so an agent loop's next turn reads its whole prefix from the cache. A prefix shorter
    than the model's minimum is simply not cached."""
    point: CachePointBlockTypeDef = {"type": "default"}
    if system:
        system.append({"cachePoint": point})
    if tools is not None:
        tools["tools"] = [*tools["tools"], {"cachePoint": point}]
    messages[-1]["content"] = [*messages[-1]["content"], {"cachePoint": point}]
