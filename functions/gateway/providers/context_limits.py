"""Whether an upstream's refusal means "the prompt does not fit the model's context window".

One list for every adapter: upstreams word it differently (OpenAI, vLLM, Ollama and Bedrock's models each have
their own), and ``truncation: "auto"`` retries with less history only when this says yes. The phrases stay
narrow on purpose: a bare "too long" would also catch "string too long" for a tool name, which no amount of
dropped history fixes.
"""

from __future__ import annotations

import re

CONTEXT_LENGTH_CODE = "context_length_exceeded"

_CONTEXT_TOO_LONG = re.compile(
    r"context_length_exceeded|maximum context|context length|context window|too many (?:input )?tokens"
    r"|(?:prompt|input) is too long|too long for (?:the )?(?:requested )?model",
    re.IGNORECASE,
)


def is_context_too_long(message: str, code: object = None) -> bool:
    """True when ``code`` is OpenAI's ``context_length_exceeded`` or ``message`` says the prompt is too long."""
    return code == CONTEXT_LENGTH_CODE or _CONTEXT_TOO_LONG.search(message) is not None
