"""Conversation items: what a client sends as ``input`` and what the gateway stores and lists.

Items tolerate unknown fields (clients often send back SDK output objects verbatim, with fields newer than
this gateway), while the top-level request forbids them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from gateway.schemas.base import WireModel

ItemStatus = Literal["in_progress", "completed", "incomplete"]
MessageRole = Literal["user", "assistant", "system", "developer"]
Phase = Literal["commentary", "final_answer"]


def optional() -> Any:
    """An optional field that is left out of the JSON when unset: OpenAI's schema types these as a string or
    an object, never ``null``."""
    return Field(default=None, exclude_if=lambda value: value is None)


class InputText(WireModel):
    type: Literal["input_text"] = "input_text"
    text: str


class InputImage(WireModel):
    type: Literal["input_image"] = "input_image"
    image_url: str | None = None
    """An http(s) URL or a ``data:`` URL."""
    file_id: str | None = None
    detail: Literal["low", "high", "auto", "original"] = "auto"


class InputFile(WireModel):
    type: Literal["input_file"] = "input_file"
    file_id: str | None = None
    file_data: str | None = None
    """Base64 data URL of the file's bytes."""
    file_url: str | None = None
    filename: str | None = None


class OutputText(WireModel):
    type: Literal["output_text"] = "output_text"
    text: str
    annotations: list[dict[str, Any]] = Field(default_factory=list)
    logprobs: list[dict[str, Any]] = Field(default_factory=list)


class Refusal(WireModel):
    type: Literal["refusal"] = "refusal"
    refusal: str


ContentPart = Annotated[
    InputText | InputImage | InputFile | OutputText | Refusal,
    Field(discriminator="type"),
]
ToolOutputPart = Annotated[InputText | InputImage | InputFile, Field(discriminator="type")]


class Message(WireModel):
    """A message of any role; ``content`` may be a plain string on input and is a part list once stored."""

    type: Literal["message"] = "message"
    id: str | None = None
    role: MessageRole
    content: str | list[ContentPart]
    status: ItemStatus | None = optional()
    phase: Phase | None = optional()
    """Codex marks assistant messages ``commentary`` or ``final_answer``; kept and echoed, never sent upstream."""


class FunctionCall(WireModel):
    type: Literal["function_call"] = "function_call"
    id: str | None = None
    call_id: str = Field(min_length=1, max_length=64)
    name: str
    arguments: str
    """The call's arguments as a JSON string."""
    namespace: str | None = optional()
    """The ``namespace`` tool the function belongs to."""
    status: ItemStatus | None = optional()


class FunctionCallOutput(WireModel):
    type: Literal["function_call_output"] = "function_call_output"
    id: str | None = None
    call_id: str = Field(min_length=1, max_length=64)
    output: str | list[ToolOutputPart]
    status: ItemStatus | None = optional()


class SummaryText(WireModel):
    type: Literal["summary_text"] = "summary_text"
    text: str


class ReasoningText(WireModel):
    type: Literal["reasoning_text"] = "reasoning_text"
    text: str


class Reasoning(WireModel):
    type: Literal["reasoning"] = "reasoning"
    id: str | None = None
    summary: list[SummaryText] = Field(default_factory=list)
    encrypted_content: str | None = optional()
    """Opaque provider state (e.g. a reasoning signature) that must come back unchanged next turn; sealed for
    the tenant whenever a client sees it."""
    content: list[ReasoningText] | None = optional()
    """The model's reasoning text (``reasoning_content`` upstream): not a summary."""
    status: ItemStatus | None = optional()


class ItemReference(WireModel):
    type: Literal["item_reference"] | None = "item_reference"
    id: str


def _item_tag(value: Any) -> str | None:
    """``type`` may be left out: a role means a message, a bare id an item reference."""
    if isinstance(value, dict):
        kind = value.get("type")
        if kind:
            return str(kind)
        return "message" if "role" in value else "item_reference"
    return getattr(value, "type", None) or "item_reference"
