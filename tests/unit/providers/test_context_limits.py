"""One rule for "the prompt does not fit", whichever upstream words it: it decides ``truncation: "auto"`` retries."""

from __future__ import annotations

import pytest

from gateway.providers.context_limits import is_context_too_long


@pytest.mark.parametrize(
    "message",
    [
        "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.",
        "Input is too long for requested model.",  # Bedrock (Titan, Llama)
        "prompt is too long: 210000 tokens > 200000 maximum",  # Anthropic models on Bedrock
        "The input exceeds the model's context window.",
        "Too many input tokens: 5000 > 4096",
        "This model's context length was exceeded",  # vLLM-style wording
    ],
)
def test_the_wordings_of_a_prompt_over_the_window_are_recognised(message: str) -> None:
    assert is_context_too_long(message)


def test_openais_code_is_enough_whatever_the_message() -> None:
    assert is_context_too_long("Request rejected.", "context_length_exceeded")


@pytest.mark.parametrize(
    "message",
    [
        "Invalid 'tools[0].function.name': string too long. Expected a string with maximum length 64.",
        "Invalid value for 'temperature': 3 is greater than the maximum of 2.",
        "The model `nope` does not exist.",
    ],
)
def test_other_refusals_are_not_taken_for_a_full_context(message: str) -> None:
    # A wrong "yes" would make truncation drop history for a request no truncation can fix.
    assert not is_context_too_long(message, "invalid_value")
