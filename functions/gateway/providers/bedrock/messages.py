"""Responses context items → Converse ``system`` blocks and alternating user/assistant ``messages``.

- ``instructions`` and every system/developer message become ``system`` text blocks, in order.
- ``function_call`` → a ``toolUse`` block in the assistant turn; ``function_call_output`` → a ``toolResult`` in
  the next user turn. Consecutive items of one role share one turn (Converse requires alternation), and a
  user turn lists its tool results before anything else (Claude requires that).
- ``reasoning`` → the ``reasoningContent`` it came from, decoded from ``encrypted_content``; reasoning with
  no Bedrock state (from another provider, or a summary only) is not model input and is left out.
- When this turn exposes no tools (``tool_choice: none``, or no tools sent), Converse would refuse tool blocks
  without a ``toolConfig``; past calls and results are then written as plain text, so the model still sees
  them and cannot call anything.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Literal, assert_never

from gateway.domain.transcript import UpstreamItem
from gateway.errors import InvalidRequestError
from gateway.providers.bedrock import reasoning as bedrock_reasoning
from gateway.providers.bedrock.media import MediaLoader, document_block
from gateway.schemas.items import (
    ContentPart,
    FunctionCall,
    FunctionCallOutput,
    InputFile,
    InputImage,
    InputText,
    Message,
    OutputText,
    Reasoning,
    Refusal,
    ToolOutputPart,
)

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime.type_defs import (
        ContentBlockTypeDef,
        MessageTypeDef,
        SystemContentBlockTypeDef,
        ToolResultContentBlockTypeDef,
        ToolUseBlockTypeDef,
    )

Role = Literal["user", "assistant"]
_TOOL_USE_ID_UNSAFE = re.compile(r"[^a-zA-Z0-9_.:-]")


def tool_use_id(call_id: str) -> str:
    """Converse ids allow ``[a-zA-Z0-9_.:-]``; other characters map to ``_`` the same way in both directions."""
    return _TOOL_USE_ID_UNSAFE.sub("_", call_id)


def _arguments(call: FunctionCall) -> dict[str, Any]:
    """Converse takes tool input as a JSON object, not the string Responses carries."""
    try:
        arguments = json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(
            f"function_call '{call.call_id}' has arguments that are not valid JSON.", param="input"
        ) from exc
    if not isinstance(arguments, dict):
        raise InvalidRequestError(
            f"function_call '{call.call_id}' has arguments that are not a JSON object.", param="input"
        )
    return arguments


class MessageBuilder:
    """Builds ``system`` and ``messages`` for one request; ``tools_visible`` says whether tool blocks may stay."""

    def __init__(self, media: MediaLoader, *, tools_visible: bool) -> None:
        self._media = media
        self._tools_visible = tools_visible
        self._document_names: set[str] = set()
        self.system: list[SystemContentBlockTypeDef] = []
        self._turns: list[tuple[Role, list[ContentBlockTypeDef]]] = []

    async def build(self, instructions: str | None, items: list[UpstreamItem]) -> list[MessageTypeDef]:
        if instructions:
            self.system.append({"text": instructions})
        for item in items:
            await self._add_item(item)
        messages: list[MessageTypeDef] = [
            {"role": role, "content": _tool_results_first(blocks) if role == "user" else blocks}
            for role, blocks in self._turns
        ]
        if not messages:
            raise InvalidRequestError("The input holds no user or assistant message.", param="input")
        return messages

    async def _add_item(self, item: UpstreamItem) -> None:
        match item:
            case Message(role="system" | "developer"):
                self.system.extend({"text": text} for text in _system_texts(item) if text)
            case Message(role="user"):
                self._append("user", [block for part in _parts(item) for block in await self._user_part(part)])
            case Message(role="assistant"):
                self._append("assistant", [block for part in _parts(item) if (block := _assistant_part(part))])
            case Message():
                raise InvalidRequestError(f"Unsupported message role '{item.role}'.", param="input")
            case FunctionCall():
                self._append("assistant", [self._tool_use(item)])
            case FunctionCallOutput():
                self._append("user", await self._tool_result(item))
            case Reasoning():
                blocks = bedrock_reasoning.decode(item.encrypted_content)
                self._append("assistant", [block.to_content_block() for block in blocks])
            case _:
                assert_never(item)

    def _append(self, role: Role, blocks: list[ContentBlockTypeDef]) -> None:
        if not blocks:
            return
        if self._turns and self._turns[-1][0] == role:
            self._turns[-1][1].extend(blocks)
        else:
            self._turns.append((role, blocks))

    async def _user_part(self, part: ContentPart | ToolOutputPart) -> list[ContentBlockTypeDef]:
        match part:
            case InputText(text=text) | OutputText(text=text) | Refusal(refusal=text):
                return [{"text": text}] if text else []
            case InputImage():
                return [{"image": await self._media.image(part)}]
            case InputFile():
                return [{"document": document_block(part, self._document_names)}]
            case _:
                assert_never(part)

    def _tool_use(self, call: FunctionCall) -> ContentBlockTypeDef:
        if not self._tools_visible:
            return {"text": f"[Called tool {call.name} (call_id {call.call_id}) with arguments: {call.arguments}]"}
        tool_use: ToolUseBlockTypeDef = {
            "toolUseId": tool_use_id(call.call_id),
            "name": call.name,
            "input": _arguments(call),
        }
        return {"toolUse": tool_use}

    async def _tool_result(self, result: FunctionCallOutput) -> list[ContentBlockTypeDef]:
        parts: list[ToolOutputPart] = (
            [InputText(text=result.output)] if isinstance(result.output, str) else list(result.output)
        )
        blocks = [block for part in parts for block in await self._user_part(part)]
        if not self._tools_visible:
            return [{"text": f"[Result of tool call {result.call_id}]:"}, *blocks]
        content: list[ToolResultContentBlockTypeDef] = []
        for block in blocks:
            if "text" in block:
                content.append({"text": block["text"]})
            elif "image" in block:
                content.append({"image": block["image"]})
            elif "document" in block:
                content.append({"document": block["document"]})
        return [{"toolResult": {"toolUseId": tool_use_id(result.call_id), "content": content}}]


def _parts(message: Message) -> list[ContentPart]:
    return [InputText(text=message.content)] if isinstance(message.content, str) else message.content


def _system_texts(message: Message) -> list[str]:
    texts: list[str] = []
    for part in _parts(message):
        if not isinstance(part, InputText | OutputText):
            raise InvalidRequestError(
                f"{message.role} messages can only hold text on Bedrock models; got {part.type}.",
                param="input",
                code="unsupported_value",
            )
        texts.append(part.text)
    return texts


def _assistant_part(part: ContentPart) -> ContentBlockTypeDef | None:
    match part:
        case OutputText(text=text) | InputText(text=text) | Refusal(refusal=text):
            return {"text": text} if text else None
        case InputImage() | InputFile():
            raise InvalidRequestError(
                f"assistant messages can only hold text on Bedrock models; got {part.type}.",
                param="input",
                code="unsupported_value",
            )
        case _:
            assert_never(part)


def _tool_results_first(blocks: list[ContentBlockTypeDef]) -> list[ContentBlockTypeDef]:
    return sorted(blocks, key=lambda block: "toolResult" not in block)
