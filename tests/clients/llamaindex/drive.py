"""LlamaIndex, as its users write it, calling a tool through a Responses endpoint (run by test_llamaindex.py).

Runs in tests/clients/.venv-llamaindex (its own venv: llama-index-llms-openai requires openai<3). One JSON line
on stdout per step:

    {"step": "tool_call", "id": ..., "name": ..., "kwargs": {...}}
    {"step": "tool_output", "content": ...}
    {"step": "final", "content": ...}

Usage: drive.py BASE_URL API_KEY MODEL
"""

from __future__ import annotations

import json
import sys

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.tools import FunctionTool
from llama_index.llms.openai import OpenAIResponses

QUESTION = "Weather in Paris?"


def get_weather(city: str, unit: str = "celsius") -> str:
    """Current weather in a city."""
    return f"Sunny, 21 {unit} in {city}."


def emit(step: str, **fields: object) -> None:
    print(json.dumps({"step": step, **fields}), flush=True)


def main(base_url: str, api_key: str, model: str) -> None:
    llm = OpenAIResponses(model=model, api_base=base_url, api_key=api_key, max_retries=0, timeout=30)
    weather = FunctionTool.from_defaults(fn=get_weather)
    question = ChatMessage(role=MessageRole.USER, content=QUESTION)

    first = llm.chat_with_tools([weather], chat_history=[question])
    selections = llm.get_tool_calls_from_response(first, error_on_no_tool_call=True)
    for selection in selections:
        emit("tool_call", id=selection.tool_id, name=selection.tool_name, kwargs=selection.tool_kwargs)
    [selection] = selections
    output = weather.call(**selection.tool_kwargs)
    emit("tool_output", content=str(output))

    result = ChatMessage(
        role=MessageRole.TOOL, content=str(output), additional_kwargs={"tool_call_id": selection.tool_id}
    )
    final = llm.chat_with_tools([weather], chat_history=[question, first.message, result])
    emit("final", content=final.message.content)


if __name__ == "__main__":
    main(*sys.argv[1:4])
