"""Checks on a create request that the schema alone cannot express; each failure names its ``param``."""

from __future__ import annotations

from gateway.errors import InvalidRequestError
from gateway.schemas.requests import (
    FunctionTool,
    HostedTool,
    ResponseCreateParams,
    ToolChoiceFunction,
    ToolChoiceHosted,
)


def check_create(params: ResponseCreateParams) -> None:
    """Refuse what the gateway cannot honour, rather than dropping it silently."""
    if not params.model:
        raise InvalidRequestError(
            "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
        )
    if params.background and not params.store:
        raise InvalidRequestError(
            "Background mode requires `store` to be true.", param="background", code="unsupported_parameter"
        )
    if params.conversation is not None and params.previous_response_id is not None:
        raise InvalidRequestError(
            "Mutually exclusive parameters: Ensure you are only providing one of: 'previous_response_id' "
            "or 'conversation'.",
            param="conversation",
            code="mutually_exclusive_parameters",
        )
    if params.stream_options is not None and not params.stream:
        raise InvalidRequestError(
            "stream_options is only allowed when stream is true.",
            param="stream_options",
            code="invalid_value",
        )
    _check_unsupported(params)
    _check_tools(params)


def _unsupported(param: str, what: str) -> InvalidRequestError:
    return InvalidRequestError(f"{what} not supported by this gateway.", param=param, code="unsupported_parameter")


def _check_unsupported(params: ResponseCreateParams) -> None:
    if params.conversation is not None:
        raise _unsupported("conversation", "Conversations are")
    if params.prompt is not None:
        raise _unsupported("prompt", "Stored prompt templates are")
    if params.context_management is not None:
        raise _unsupported("context_management", "Context compaction is")
    if params.include and "message.output_text.logprobs" in params.include:
        raise _unsupported("include", "Output logprobs are")


def _check_tools(params: ResponseCreateParams) -> None:
    for index, tool in enumerate(params.tools):
        if isinstance(tool, HostedTool):
            raise _unsupported(f"tools[{index}].type", f"The built-in tool '{tool.type}' is")
    names = {tool.name for tool in params.tools if isinstance(tool, FunctionTool)}
    choice = params.tool_choice
    if isinstance(choice, ToolChoiceHosted):
        raise _unsupported("tool_choice", f"The built-in tool '{choice.type}' is")
    if isinstance(choice, ToolChoiceFunction) and choice.name not in names:
        raise InvalidRequestError(
            f"Tool choice '{choice.name}' not found in 'tools' parameter.",
            param="tool_choice",
            code="invalid_value",
        )
    if choice == "required" and not names:
        raise InvalidRequestError(
            "Tool choice 'required' must be specified with 'tools' parameter.", param="tool_choice"
        )
