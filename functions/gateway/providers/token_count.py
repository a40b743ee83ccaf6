"""``POST /v1/responses/input_tokens``: what each kind of upstream can say about a request's input size.

- Bedrock counts exactly: ``CountTokens`` takes the Converse fields that carry input (``messages``, ``system``,
  ``toolConfig``, ``additionalModelRequestFields``), taken here from the very request ``ConverseStream`` would
  get, so the count is of what a create sends.
- Chat Completions has no standard count endpoint, so OpenAI-compatible upstreams get an estimate over the exact
  body a create would send (``chat_body``): the compact JSON of its messages, tools and response format at
  ``CHARS_PER_TOKEN`` characters a token, with each image counted as ``IMAGE_TOKENS`` and each message as
  ``MESSAGE_TOKENS`` more. A tokenizer (tiktoken) would be exact for OpenAI's own models only, is several MB,
  and downloads its vocabularies at run time; the README documents the estimate.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime.type_defs import (
        ConverseStreamRequestTypeDef,
        ConverseTokensRequestTypeDef,
        CountTokensRequestTypeDef,
    )


CHARS_PER_TOKEN = 4
"""English prose averages about four characters a token in the BPE vocabularies of GPT, Llama and Qwen."""
IMAGE_TOKENS = 765
"""One image at OpenAI's high-detail rate for 1024x1024 (85 base tokens and four 512-pixel tiles of 170)."""
MESSAGE_TOKENS = 4
"""The role and separators each message adds in a chat template; three more prime the reply."""
_REPLY_PRIMING = 3
_COUNTED_CHAT = ("messages", "tools", "tool_choice", "response_format")
_COUNTED_CONVERSE = ("messages", "system", "toolConfig", "additionalModelRequestFields")
_GEO_PROFILE = re.compile(r"^(?:us|eu|apac|jp|au|ca|us-gov|global)\.(?=[a-z0-9-]+\.)")
"""A cross-region inference profile's prefix in front of a foundation model id (``us.anthropic.claude...``)."""


def count_tokens_request(body: ConverseStreamRequestTypeDef) -> CountTokensRequestTypeDef:
    """The ``CountTokens`` call for a ``ConverseStream`` request.

    ``CountTokens`` names a foundation model, so a cross-region inference profile (``us.<model id>``, also
    inside an inference-profile ARN) is counted on the model it routes to: the same tokenizer.
    """
    converse: dict[str, Any] = {key: body[key] for key in _COUNTED_CONVERSE if key in body}  # type: ignore[literal-required]
    return {"modelId": foundation_model(body["modelId"]), "input": {"converse": _converse(converse)}}


def _converse(fields: dict[str, Any]) -> ConverseTokensRequestTypeDef:
    return fields  # type: ignore[return-value]  # the keys are a subset of ConverseStream's, same shapes


def foundation_model(model_id: str) -> str:
    _, marker, profile = model_id.partition(":inference-profile/")
    candidate = profile if marker else model_id
    stripped = _GEO_PROFILE.sub("", candidate)
    return stripped if stripped != candidate else model_id


def estimate_chat_tokens(body: dict[str, Any]) -> int:
    """The documented estimate for a Chat Completions request body (see the module docstring)."""
    counted = {key: body[key] for key in _COUNTED_CHAT if key in body}
    images = 0
    media_tokens = 0

    def strip(value: Any) -> Any:
        """The value with media replaced by nothing, counting it aside."""
        nonlocal images, media_tokens
        if isinstance(value, list):
            return [strip(item) for item in value]
        if not isinstance(value, dict):
            return value
        if value.get("type") == "image_url":
            images += 1
            return {"type": "image_url"}
        file = value.get("file") if value.get("type") == "file" else None
        if isinstance(file, dict) and isinstance(file.get("file_data"), str):
            media_tokens += math.ceil(_decoded_size(file["file_data"]) / CHARS_PER_TOKEN)
            return {"type": "file", "file": {key: item for key, item in file.items() if key != "file_data"}}
        return {key: strip(item) for key, item in value.items()}

    text = json.dumps(strip(counted), ensure_ascii=False, separators=(",", ":"))
    messages = body.get("messages")
    overhead = MESSAGE_TOKENS * len(messages) + _REPLY_PRIMING if isinstance(messages, list) else 0
    return math.ceil(len(text) / CHARS_PER_TOKEN) + images * IMAGE_TOKENS + media_tokens + overhead


def _decoded_size(data: str) -> int:
    """Bytes of a base64 payload (a data URL or bare base64): a file's text is at most that long."""
    payload = data.partition(",")[2] if data.startswith("data:") else data
    return len(payload.rstrip("=")) * 3 // 4
