"""What a Bedrock model id says about the model: its reasoning controls and structured-output support.

Converse is one API, but reasoning and structured output are per model family. The family is read from the
model id, which may be a base id (``anthropic.claude-sonnet-4-5-20250929-v1:0``), a cross-region inference
profile (``us.anthropic...``, ``global.anthropic...``) or an ARN that embeds one of those. Opaque ARNs
(application inference profiles, provisioned or imported models) reveal nothing and get ``GENERIC``: plain
Converse, no reasoning controls, structured output through a forced tool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ReasoningStyle = Literal["none", "claude_budget", "claude_adaptive", "nova", "gpt_oss"]
"""How reasoning is switched on: not at all, Claude ``thinking`` with a token budget, Claude adaptive thinking
with ``outputConfig.effort``, Nova 2 ``reasoningConfig``, or gpt-oss ``reasoning_effort``."""


@dataclass(frozen=True, slots=True)
class ModelProfile:
    family: Literal["claude", "nova", "gpt_oss", "other"]
    reasoning: ReasoningStyle = "none"
    native_structured_output: bool = False
    """Whether ``outputConfig.textFormat`` (and strict tool schemas) are available."""
    prompt_caching: bool = False
    """Whether Converse ``cachePoint`` blocks are honoured (Claude 3.7 and later, Nova)."""


GENERIC = ModelProfile(family="other")

_CLAUDE = re.compile(r"anthropic\.claude-(?P<rest>[a-z0-9-]+)")
_NAMED_VERSION = re.compile(r"^(?:opus|sonnet|haiku)-(?P<major>\d+)(?:-(?P<minor>\d)(?!\d))?")
_NUMBERED_VERSION = re.compile(r"^(?P<major>\d+)(?:-(?P<minor>\d)(?!\d))?-(?:opus|sonnet|haiku)")
_CLAUDE_CODENAMES = ("mythos", "fable")
"""Claude models named without a version number; all of them are newer than Claude 4.6."""

_ADAPTIVE_FROM = (4, 6)
"""Claude 4.6 and later take ``thinking: {type: adaptive}`` (and 4.7+ refuse a token budget)."""
_BUDGET_FROM = (3, 7)
"""Claude 3.7 Sonnet introduced extended thinking with ``budget_tokens``."""
_STRUCTURED_FROM = (4, 5)
"""Native structured output on Bedrock: Claude Sonnet 4.5, Haiku 4.5, Opus 4.5 and later."""


def _claude_version(rest: str) -> tuple[int, int] | None:
    """``sonnet-4-5-2025...`` → (4, 5); ``3-7-sonnet-...`` → (3, 7); ``opus-4-2025...`` → (4, 0)."""
    match = _NAMED_VERSION.match(rest) or _NUMBERED_VERSION.match(rest)
    if match is None:
        return None
    return int(match["major"]), int(match["minor"] or 0)


def _claude_profile(rest: str) -> ModelProfile:
    version = _claude_version(rest)
    if version is None:
        newest = rest.startswith(_CLAUDE_CODENAMES)
        return ModelProfile(
            family="claude",
            reasoning="claude_adaptive" if newest else "none",
            native_structured_output=newest,
            prompt_caching=newest,
        )
    if version >= _ADAPTIVE_FROM:
        reasoning: ReasoningStyle = "claude_adaptive"
    elif version >= _BUDGET_FROM:
        reasoning = "claude_budget"
    else:
        reasoning = "none"
    return ModelProfile(
        family="claude",
        reasoning=reasoning,
        native_structured_output=version >= _STRUCTURED_FROM,
        prompt_caching=version >= _BUDGET_FROM,
    )


def profile_for(model_id: str) -> ModelProfile:
    """The capabilities of ``model_id``, as far as the id reveals them."""
    model = model_id.lower()
    if claude := _CLAUDE.search(model):
        return _claude_profile(claude["rest"])
    if "amazon.nova-2-" in model:
        return ModelProfile(family="nova", reasoning="nova", prompt_caching=True)
    if "amazon.nova-" in model:
        return ModelProfile(family="nova", prompt_caching=True)
    if "openai.gpt-oss" in model:
        return ModelProfile(family="gpt_oss", reasoning="gpt_oss")
    return GENERIC
