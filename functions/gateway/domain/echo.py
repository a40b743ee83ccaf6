"""What a Response echoes from its request: every field present, defaults as OpenAI reports them."""

from __future__ import annotations

from typing import Any

from gateway.domain.ids import now
from gateway.domain.tools import effective_strict
from gateway.schemas.requests import ResponseCreateParams
from gateway.schemas.responses import Response, ResponseStatus
from gateway.schemas.tools import FunctionTool, Tool


def response_shell(params: ResponseCreateParams, response_id: str, status: ResponseStatus) -> Response:
    """The Response before any output: what ``response.created`` carries."""
    text = params.text
    return Response(
        id=response_id,
        created_at=now(),
        status=status,
        background=params.background,
        instructions=params.instructions,
        max_output_tokens=params.max_output_tokens,
        max_tool_calls=params.max_tool_calls,
        model=params.model or "",
        parallel_tool_calls=params.parallel_tool_calls,
        previous_response_id=params.previous_response_id,
        prompt_cache_key=params.prompt_cache_key,
        prompt_cache_retention=params.prompt_cache_retention,
        reasoning={
            "effort": params.reasoning.effort if params.reasoning else None,
            "summary": params.reasoning.summary if params.reasoning else None,
        },
        safety_identifier=params.safety_identifier,
        service_tier=params.service_tier if params.service_tier not in (None, "auto") else "default",
        store=params.store,
        temperature=1.0 if params.temperature is None else params.temperature,
        presence_penalty=params.presence_penalty or 0.0,
        frequency_penalty=params.frequency_penalty or 0.0,
        text={
            "format": text.format.model_dump(by_alias=True, exclude_none=True) if text else {"type": "text"},
            "verbosity": (text.verbosity if text else None) or "medium",
        },
        tool_choice=_tool_choice(params),
        tools=[_tool(tool) for tool in params.tools],
        top_logprobs=params.top_logprobs or 0,
        top_p=1.0 if params.top_p is None else params.top_p,
        truncation=params.truncation,
        user=params.user,
        metadata=params.metadata or {},
    )


def _tool(tool: Tool) -> dict[str, Any]:
    """Each tool as the client declared it; a function's ``strict`` as the gateway applies it."""
    if not isinstance(tool, FunctionTool):
        return tool.model_dump(mode="json", exclude_none=True)
    return {
        "type": "function",
        "name": tool.name,
        "description": tool.description,
        "parameters": tool.parameters,
        "strict": effective_strict(tool),
    }


def _tool_choice(params: ResponseCreateParams) -> Any:
    choice = params.tool_choice
    return choice if isinstance(choice, str) else choice.model_dump(exclude_none=True)
