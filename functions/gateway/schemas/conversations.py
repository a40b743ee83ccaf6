"""The Conversations API on the wire, as openai-python's ``types/conversations/`` has it.

``conversation.py``, ``conversation_deleted_resource.py``, ``conversation_create_params.py``,
``conversation_update_params.py`` and ``item_create_params.py``. A page of items is ``ConversationItemList``, the
same shape as the responses' ``ItemList``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from gateway.schemas.base import RequestModel, WireModel
from gateway.schemas.requests import ResponseCreateParams
from gateway.schemas.tool_items import InputItem

MAX_ITEMS = 20
"""Items per create call: "You may add up to 20 items at a time."""

Items = Annotated[list[InputItem], Field(max_length=MAX_ITEMS)]


def _metadata(value: Any) -> Any:
    """The same limits as a response's ``metadata`` (16 pairs, 64-character keys, 512-character values)."""
    return ResponseCreateParams._check_metadata(value)


class ConversationCreateParams(RequestModel):
    items: Items | None = None
    metadata: dict[str, str] | None = None

    @field_validator("metadata", mode="before")
    @classmethod
    def _check_metadata(cls, value: Any) -> Any:
        return _metadata(value)


class ConversationUpdateParams(RequestModel):
    metadata: dict[str, str] | None
    """Required, and replaces the whole map (null clears it)."""

    @field_validator("metadata", mode="before")
    @classmethod
    def _check_metadata(cls, value: Any) -> Any:
        return _metadata(value)


class ItemCreateParams(RequestModel):
    items: Items


class Conversation(WireModel):
    id: str
    object: Literal["conversation"] = "conversation"
    created_at: int
    metadata: dict[str, str] = Field(default_factory=dict)


class ConversationDeleted(WireModel):
    id: str
    object: Literal["conversation.deleted"] = "conversation.deleted"
    deleted: Literal[True] = True
