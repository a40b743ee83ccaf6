"""Responses request -> Chat Completions request body, for any OpenAI-compatible upstream."""

from __future__ import annotations

from typing import Any

from gateway.domain.tools import UpstreamTool
from gateway.domain.upstream import ModelRequest
from gateway.errors import InvalidRequestError
from gateway.schemas.items import (
    FunctionCall,
    FunctionCallOutput,
    InputFile,
    InputImage,
    InputText,
    Message,
    OutputText,
    Refusal,
)
from gateway.schemas.requests import FormatJsonObject, FormatJsonSchema, ResponseCreateParams

Json = dict[str, Any]
_IMAGE_DETAIL = {"low": "low", "high": "high", "auto": "auto", "original": "high"}


def chat_body(request: ModelRequest, *, max_tokens_field: str = "max_completion_tokens") -> Json:
    """The exact body sent to ``POST {base_url}/chat/completions`` (always streamed, usage included)."""
    params = request.params
    body: Json = {"model": request.model, "messages": _messages(request), "stream": True}
    body["stream_options"] = {"include_usage": True}
    optional: Json = {
        max_tokens_field: params.max_output_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "seed": params.seed,
        "stop": params.stop,
        "reasoning_effort": params.reasoning.effort if params.reasoning else None,
        "verbosity": params.text.verbosity if params.text else None,
        "response_format": _response_format(params),
        "user": params.user,
        "safety_identifier": params.safety_identifier,
        "prompt_cache_key": params.prompt_cache_key,
        "prompt_cache_retention": params.prompt_cache_retention,
        "service_tier": params.service_tier,
        # Provider-specific sampling knobs (vLLM, TGI, llama.cpp, ...) travel as extra top-level fields.
        "top_k": params.top_k,
        "repetition_penalty": params.repetition_penalty,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
    }
    body.update((key, value) for key, value in optional.items() if value is not None)
    body.update(_tools(request))
    return body


def _messages(request: ModelRequest) -> list[Json]:
    messages: list[Json] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    assistant: Json | None = None  # text and tool calls of one model turn share one assistant message
    for item in request.items:
        if isinstance(item, FunctionCall):
            if assistant is None:
                assistant = {"role": "assistant", "content": None}
                messages.append(assistant)
            call = {"name": item.name, "arguments": item.arguments}
            assistant.setdefault("tool_calls", []).append({"id": item.call_id, "type": "function", "function": call})
            continue
        assistant = None
        if isinstance(item, Message):
            message = _message(item)
            messages.append(message)
            if item.role == "assistant":
                assistant = message
        elif isinstance(item, FunctionCallOutput):
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": _tool_output(item)})
        # Reasoning items have no Chat Completions counterpart; the upstream re-reasons from the transcript.
    return messages


def _message(item: Message) -> Json:
    role = "system" if item.role == "developer" else item.role
    parts = [InputText(text=item.content)] if isinstance(item.content, str) else item.content
    if role == "assistant":
        text = "".join(part.text for part in parts if isinstance(part, OutputText | InputText))
        message: Json = {"role": "assistant", "content": text or None}
        refusal = "".join(part.refusal for part in parts if isinstance(part, Refusal))
        if refusal:
            message["refusal"] = refusal
        return message
    if len(parts) == 1 and isinstance(parts[0], InputText | OutputText):
        return {"role": role, "content": parts[0].text}
    return {"role": role, "content": [_part(part) for part in parts]}


def _part(part: Any) -> Json:
    match part:
        case InputText(text=text) | OutputText(text=text):
            return {"type": "text", "text": text}
        case Refusal(refusal=text):
            return {"type": "text", "text": text}
        case InputImage(image_url=str() as url, detail=detail):
            return {"type": "image_url", "image_url": {"url": url, "detail": _IMAGE_DETAIL[detail]}}
        case InputImage():
            raise InvalidRequestError(
                "input_image by file_id is not supported; send image_url (an https or data URL).",
                param="input",
                code="unsupported_parameter",
            )
        case InputFile(file_data=str() as data):
            file: Json = {"file_data": data}
            if part.filename:
                file["filename"] = part.filename
            return {"type": "file", "file": file}
        case InputFile(file_id=str() as file_id):
            return {"type": "file", "file": {"file_id": file_id}}
        case _:
            raise InvalidRequestError(
                "input_file needs file_data (a base64 data URL) or file_id; file_url is not supported "
                "by Chat Completions upstreams.",
                param="input",
                code="unsupported_parameter",
            )


def _tool_output(item: FunctionCallOutput) -> str | list[Json]:
    if isinstance(item.output, str):
        return item.output
    if all(isinstance(part, InputText) for part in item.output):
        return [_part(part) for part in item.output]
    raise InvalidRequestError(
        "function_call_output with images or files is not supported by Chat Completions upstreams.",
        param="input",
        code="unsupported_parameter",
    )


def _response_format(params: ResponseCreateParams) -> Json | None:
    fmt = params.text.format if params.text else None
    if isinstance(fmt, FormatJsonObject):
        return {"type": "json_object"}
    if isinstance(fmt, FormatJsonSchema):
        schema: Json = {"name": fmt.name, "schema": fmt.schema_, "strict": bool(fmt.strict)}
        if fmt.description:
            schema["description"] = fmt.description
        return {"type": "json_schema", "json_schema": schema}
    return None


def _tools(request: ModelRequest) -> Json:
    """Every tool the client executes, as a Chat Completions function (``domain/tools.py`` did the mapping)."""
    toolset = request.tools
    if not toolset.tools:
        return {}
    choice = toolset.choice
    mapped: Any = choice.mode
    if choice.name is not None:
        mapped = {"type": "function", "function": {"name": choice.name}}
    return {
        "tools": [_tool(tool) for tool in toolset.tools],
        "tool_choice": mapped,
        "parallel_tool_calls": request.params.parallel_tool_calls,
    }


def _tool(tool: UpstreamTool) -> Json:
    function: Json = {"name": tool.name}
    if tool.description is not None:
        function["description"] = tool.description
    if tool.parameters is not None:
        function["parameters"] = tool.parameters
    function["strict"] = tool.strict
    return {"type": "function", "function": function}
