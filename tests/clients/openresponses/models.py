"""The scripted model behind the compliance cases: calls ``get_weather`` when offered it, else says hello."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes import bedrock
from tests.fakes import upstream as chat

Json = dict[str, Any]
CALL_ID = "call_weather_1"
ARGUMENTS = json.dumps({"location": "San Francisco, CA"})
ANSWER = "Ahoy, hello there friend."


def chat_model(body: Json) -> chat.Reply:
    offered = any(t.get("function", {}).get("name") == "get_weather" for t in body.get("tools") or [])
    answered = any(m.get("role") == "tool" for m in body.get("messages", []))
    if offered and not answered:
        return chat.tool_reply((CALL_ID, "get_weather", ARGUMENTS))
    return chat.text_reply("Ahoy, ", "hello there ", "friend.")


def bedrock_model(model_id: str, body: Json) -> bedrock.Reply:
    tools = (body.get("toolConfig") or {}).get("tools") or []
    offered = any(t.get("toolSpec", {}).get("name") == "get_weather" for t in tools)
    answered = any("toolResult" in b for m in body.get("messages", []) for b in m.get("content", []))
    if offered and not answered:
        return bedrock.stream(
            bedrock.message_start(),
            bedrock.tool_use(0, CALL_ID, "get_weather", ARGUMENTS[:10], ARGUMENTS[10:]),
            bedrock.message_stop("tool_use"),
            bedrock.metadata(),
        )
    return bedrock.text_reply("Ahoy, ", "hello there ", "friend.")
