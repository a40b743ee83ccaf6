"""Checks on a create request that the schema alone cannot express; each failure names its ``param``.

Tools and ``tool_choice`` are checked where they are resolved, in ``domain/tools.py``."""

from __future__ import annotations

from gateway.errors import InvalidRequestError
from gateway.schemas.requests import ResponseCreateParams
from gateway.schemas.tool_items import CompactionTrigger


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
    _check_trigger(params)
    _check_unsupported(params)


def _check_trigger(params: ResponseCreateParams) -> None:
    """``compaction_trigger`` compacts everything before it, so nothing may follow it."""
    items = params.input if isinstance(params.input, list) else []
    at = [index for index, item in enumerate(items) if isinstance(item, CompactionTrigger)]
    if at and at != [len(items) - 1]:
        raise InvalidRequestError(
            "A compaction_trigger item must be the last item of input, and there may be only one.",
            param=f"input[{at[0]}]",
            code="invalid_value",
        )


def _unsupported(param: str, what: str) -> InvalidRequestError:
    return InvalidRequestError(f"{what} not supported by this gateway.", param=param, code="unsupported_parameter")


def _check_unsupported(params: ResponseCreateParams) -> None:
    if params.prompt is not None:
        raise _unsupported("prompt", "Stored prompt templates are")
    if params.include and "message.output_text.logprobs" in params.include:
        raise _unsupported("include", "Output logprobs are")
