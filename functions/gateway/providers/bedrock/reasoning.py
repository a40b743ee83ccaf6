"""The opaque reasoning state a Bedrock turn hands back: encoded into ``encrypted_content``, decoded next turn.

Claude signs its reasoning: the next request must carry the reasoning text and its ``signature`` unchanged,
or the ``redactedContent`` bytes as they came. One Responses reasoning item covers a run of consecutive
reasoning blocks (Claude 3.7 can send a thinking block followed by redacted ones), so the state is a list:
``bedrock.v1.<base64url(JSON [{"text", "signature"} | {"redacted"}, ...])>``. The text travels inside the
state, so a stateless client that only echoes ``encrypted_content`` still sends back byte-identical reasoning.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.errors import InvalidRequestError

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime.type_defs import ContentBlockTypeDef

PREFIX = "bedrock.v1."


@dataclass(frozen=True, slots=True)
class ReasoningBlock:
    text: str = ""
    signature: str | None = None
    redacted: bytes | None = None

    @property
    def replayable(self) -> bool:
        """Only signed or redacted reasoning is sent back; unsigned text (Nova, DeepSeek) is not model input."""
        return self.signature is not None or self.redacted is not None

    def to_content_block(self) -> ContentBlockTypeDef:
        if self.redacted is not None:
            return {"reasoningContent": {"redactedContent": self.redacted}}
        if self.signature is None:
            return {"reasoningContent": {"reasoningText": {"text": self.text}}}
        return {"reasoningContent": {"reasoningText": {"text": self.text, "signature": self.signature}}}


def encode(blocks: list[ReasoningBlock]) -> str:
    payload: list[dict[str, str]] = []
    for block in blocks:
        if block.redacted is not None:
            payload.append({"redacted": base64.b64encode(block.redacted).decode("ascii")})
        else:
            payload.append({"text": block.text, "signature": block.signature or ""})
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return PREFIX + base64.urlsafe_b64encode(raw).decode("ascii")


def decode(encrypted_content: str | None) -> list[ReasoningBlock]:
    """The Bedrock reasoning blocks inside ``encrypted_content``; none when it came from another provider.

    A value with the Bedrock prefix that does not decode was damaged on the way: a 400, because sending it
    on would fail upstream with a less helpful message.
    """
    if not encrypted_content or not encrypted_content.startswith(PREFIX):
        return []
    try:
        payload = json.loads(base64.urlsafe_b64decode(encrypted_content.removeprefix(PREFIX)))
        return [_block(entry) for entry in payload]
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise InvalidRequestError(
            "A reasoning item's encrypted_content is damaged; send it back exactly as it was returned.",
            param="input",
        ) from exc


def _block(entry: dict[str, Any]) -> ReasoningBlock:
    if "redacted" in entry:
        return ReasoningBlock(redacted=base64.b64decode(entry["redacted"], validate=True))
    return ReasoningBlock(text=str(entry["text"]), signature=str(entry["signature"]))
