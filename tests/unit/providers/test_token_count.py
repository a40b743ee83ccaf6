"""The pieces of input-token counting that need no upstream: which model Bedrock counts on, and the estimate."""

from __future__ import annotations

import base64

import pytest

from gateway.providers.token_count import estimate_chat_tokens, foundation_model

CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"


@pytest.mark.parametrize(
    ("model_id", "counted_on"),
    [
        (CLAUDE, CLAUDE),
        (f"us.{CLAUDE}", CLAUDE),
        (f"eu.{CLAUDE}", CLAUDE),
        (f"apac.{CLAUDE}", CLAUDE),
        (f"global.{CLAUDE}", CLAUDE),
        ("us.meta.llama3-3-70b-instruct-v1:0", "meta.llama3-3-70b-instruct-v1:0"),
        (f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{CLAUDE}", CLAUDE),
        # opaque or already foundation-model ids are left for Bedrock to judge
        ("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", None),
        (f"arn:aws:bedrock:us-east-1::foundation-model/{CLAUDE}", None),
        ("amazon.nova-pro-v1:0", None),
    ],
)
def test_cross_region_profiles_are_counted_on_their_foundation_model(model_id: str, counted_on: str | None) -> None:
    assert foundation_model(model_id) == (counted_on or model_id)


def test_the_estimate_is_a_quarter_of_the_characters_plus_message_overhead() -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "x" * 400}]}
    # {"messages":[{"role":"user","content":"xxx…"}]} is 443 characters: 111 tokens, 4 for the message, 3 primed
    assert estimate_chat_tokens(body) == 111 + 4 + 3


def test_a_file_counts_by_its_decoded_size_not_its_base64() -> None:
    data = "data:application/pdf;base64," + base64.b64encode(b"%" * 3000).decode()
    part = {"type": "file", "file": {"filename": "a.pdf", "file_data": data}}
    with_file = {"messages": [{"role": "user", "content": [part]}]}
    without = {"messages": [{"role": "user", "content": [{"type": "file", "file": {"filename": "a.pdf"}}]}]}

    assert estimate_chat_tokens(with_file) - estimate_chat_tokens(without) == 3000 // 4
