"""Scripted models that react to what the gateway forwards, so a real agent loop can run against them.

The task is always the same three steps, chosen from the conversation the upstream receives:

1. the user's task arrives          -> call the shell tool (``exec_command``) with ``SHELL_COMMAND``;
2. the shell tool's result arrives  -> edit ``notes.txt`` with ``PATCH`` through ``apply_patch``;
3. the patch tool's result arrives  -> answer ``FINAL_TEXT``.

A follow-up user message (``RESUME_PROMPT``, from ``codex exec resume``) is answered with how many tool
results the forwarded history held, which proves the earlier turns reached the model. ``apply_patch`` is
called as its own tool when the request offers one, else through the shell (``apply_patch <<'EOF'``), the way
Codex's prompt tells models without the tool to use it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gateway.domain.compaction import CHECKPOINT_REQUEST
from tests.fakes import bedrock
from tests.fakes import upstream as chat

Json = dict[str, Any]

SHELL_CALL = "call_shell_1"
PATCH_CALL = "call_patch_1"
SHELL_COMMAND = "printf 'shell ran\\n' > ran.txt && cat notes.txt"
ORIGINAL = "status: draft\n"
PATCHED = "status: patched by codex\n"
PATCH = "*** Begin Patch\n*** Update File: notes.txt\n@@\n-status: draft\n+status: patched by codex\n*** End Patch\n"
TASK_PROMPT = "Mark notes.txt as patched."
FINAL_TEXT = "Done: notes.txt is marked as patched."
RESUME_PROMPT = "What did you change?"
THINKING = "The task needs a look at the file, then a patch."
"""Reasoning the scripted models emit before each tool call: Codex sends ``include:
["reasoning.encrypted_content"]`` with ``store: false`` and echoes reasoning items back on the next turn."""


COMPACTION_PROMPT = "CONTEXT CHECKPOINT COMPACTION"
"""In the user message of Codex's local compaction request (providers without remote compaction)."""
CHECKPOINT = "Checkpoint: the shell command ran; notes.txt still needs the patch."
"""The scripted summary; Codex carries it into the compacted history."""
HUGE_CONTEXT = 1_000_000
"""Input tokens reported by ``compacting_chat_agent`` for the shell step: past any auto-compaction limit."""


def signature(call_id: str) -> str:
    """The Bedrock reasoning signature sent with the reasoning before ``call_id``."""
    return f"sig-{call_id}"


def resume_answer(tool_results: int) -> str:
    return f"Earlier I ran a command and patched notes.txt ({tool_results} tool results in history)."


def _code_mode_tool(tool_names: set[str]) -> str | None:
    """Codex's code mode (gpt-6 family): one free-form ``exec`` tool that runs JavaScript calling the real
    tools as ``tools.<name>(...)``; the gateway names it after its namespace (``functions__exec``)."""
    return next((name for name in sorted(tool_names) if name == "exec" or name.endswith("__exec")), None)


def _shell_call(tool_names: set[str]) -> tuple[str, str]:
    """``(tool name, JSON arguments)`` for step 1."""
    if code := _code_mode_tool(tool_names):
        return code, json.dumps({"input": f"text(await tools.exec_command({{cmd: {json.dumps(SHELL_COMMAND)}}}));"})
    return "exec_command", json.dumps({"cmd": SHELL_COMMAND})


def _patch_call(tool_names: set[str]) -> tuple[str, str]:
    """``(tool name, JSON arguments)`` for step 2."""
    if code := _code_mode_tool(tool_names):
        return code, json.dumps({"input": f"text(await tools.apply_patch({json.dumps(PATCH)}));"})
    if "apply_patch" in tool_names:
        return "apply_patch", json.dumps({"input": PATCH})
    return "exec_command", json.dumps({"cmd": f"apply_patch <<'EOF'\n{PATCH}EOF\n"})


def _step(last_tool_result: str | None, last_user_text: str, tool_results: int) -> str:
    """``shell``, ``patch``, ``final``, ``resume``, or ``summary`` when Codex asks for a compaction."""
    if COMPACTION_PROMPT in last_user_text or CHECKPOINT_REQUEST in last_user_text:
        # Codex's local compaction, or the gateway's summarizer (remote compaction; on Converse its request
        # shares the user turn with the last tool result)
        return "summary"
    if last_tool_result == SHELL_CALL:
        return "patch"
    if last_tool_result == PATCH_CALL:
        return "final"
    if CHECKPOINT in last_user_text:
        return "patch"  # the compacted history says the shell step is done
    return "resume" if RESUME_PROMPT in last_user_text and tool_results else "shell"


# Chat Completions -------------------------------------------------------------------------------------------


def _chat_text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


def _chunk(delta: Json, finish: str | None = None) -> Json:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "chatcmpl-agent", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": [choice]}


def _chat_custom_call(call_id: str, name: str, text: str) -> chat.Reply:
    """A streamed Chat Completions ``custom`` tool call (free-form input), as OpenAI sends it."""
    head = {"index": 0, "id": call_id, "type": "custom", "custom": {"name": name, "input": ""}}
    half = len(text) // 2
    pieces = [{"index": 0, "custom": {"input": part}} for part in (text[:half], text[half:])]
    chunks = [_chunk({"role": "assistant", "content": None}), _chunk({"tool_calls": [head]})]
    chunks += [_chunk({"tool_calls": [piece]}) for piece in pieces]
    return chat.Reply(chunks=[*chunks, _chunk({}, "tool_calls"), chat.usage_chunk()])


def _thinking_first(reply: chat.Reply) -> chat.Reply:
    """``reply`` with a ``reasoning_content`` delta right after the role chunk, as vLLM/DeepSeek send it."""
    reply.chunks.insert(1, _chunk({"reasoning_content": THINKING}))
    return reply


def chat_agent(body: Json) -> chat.Reply:
    messages = body.get("messages", [])
    tool_results = sum(1 for m in messages if m.get("role") == "tool")
    last = messages[-1] if messages else {}
    last_result = last.get("tool_call_id") if last.get("role") == "tool" else None
    last_user = next((_chat_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    tools = body.get("tools") or []
    names = {t.get("function", {}).get("name") for t in tools} - {None}
    step = _step(last_result, last_user, tool_results)
    if step == "shell":
        return _thinking_first(chat.tool_reply((SHELL_CALL, *_shell_call(names))))
    if step == "patch":
        if any(t.get("type") == "custom" and t.get("custom", {}).get("name") == "apply_patch" for t in tools):
            return _thinking_first(_chat_custom_call(PATCH_CALL, "apply_patch", PATCH))
        return _thinking_first(chat.tool_reply((PATCH_CALL, *_patch_call(names))))
    if step == "final":
        return chat.text_reply(FINAL_TEXT)
    if step == "summary":
        return chat.text_reply(CHECKPOINT)
    return chat.text_reply(resume_answer(tool_results))


def compacting_chat_agent(body: Json) -> chat.Reply:
    """``chat_agent`` whose shell step reports ``HUGE_CONTEXT`` input tokens, so Codex compacts mid-turn."""
    reply = chat_agent(body)
    if any(SHELL_CALL in str(chunk) for chunk in reply.chunks):
        reply.chunks[-1] = chat.usage_chunk(prompt=HUGE_CONTEXT)
    return reply


# Bedrock Converse -------------------------------------------------------------------------------------------


def _blocks(message: Json) -> list[Json]:
    content = message.get("content") or []
    return [block for block in content if isinstance(block, dict)]


def bedrock_agent(model_id: str, body: Json) -> bedrock.Reply:
    messages = body.get("messages", [])
    results = [b["toolResult"] for m in messages for b in _blocks(m) if "toolResult" in b]
    last = messages[-1] if messages else {}
    last_results = [b["toolResult"]["toolUseId"] for b in _blocks(last) if "toolResult" in b]
    last_user = " ".join(b.get("text", "") for b in _blocks(last) if "text" in b) if last.get("role") == "user" else ""
    tools = (body.get("toolConfig") or {}).get("tools") or []
    tool_names = {t["toolSpec"]["name"] for t in tools if "toolSpec" in t}
    step = _step(last_results[-1] if last_results else None, last_user, len(results))
    if step in ("shell", "patch"):
        call_id, (name, arguments) = (
            (SHELL_CALL, _shell_call(tool_names)) if step == "shell" else (PATCH_CALL, _patch_call(tool_names))
        )
        middle = len(arguments) // 2
        return bedrock.stream(
            bedrock.message_start(),
            bedrock.reasoning(0, THINKING, signature=signature(call_id)),
            bedrock.tool_use(1, call_id, name, arguments[:middle], arguments[middle:]),
            bedrock.message_stop("tool_use"),
            bedrock.metadata(),
        )
    text = {"final": FINAL_TEXT, "summary": CHECKPOINT}.get(step) or resume_answer(len(results))
    return bedrock.text_reply(text)


def compacting_bedrock_agent(model_id: str, body: Json) -> bedrock.Reply:
    """``bedrock_agent`` whose shell step reports ``HUGE_CONTEXT`` input tokens, so Codex compacts mid-turn."""
    reply = bedrock_agent(model_id, body)
    if any(SHELL_CALL in str(event) for event in reply.events):
        reply.events[-1] = bedrock.metadata(input_tokens=HUGE_CONTEXT)[0]
    return reply


class ChatAgentUpstream(chat.FakeUpstream):
    """``FakeUpstream`` whose every request is answered by ``policy`` (``chat_agent`` unless a test swaps it)."""

    def __init__(self) -> None:
        super().__init__()
        self.policy: Callable[[Json], chat.Reply] = chat_agent

    def respond(self, body: Json, headers: dict[str, str]) -> chat.Reply:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
        return self.policy(body)
