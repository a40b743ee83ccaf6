"""The compliance rules in ``openresponses/schema.py`` reject what the suite's Zod schemas reject.

Pure functions, no gateway and no npm: part of the quick suite, so a checker that silently passes everything
cannot hide behind the clients suite.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.clients.openresponses.schema import event_errors, response_errors

# The spec's own example response object (ResponseResource.example), completed with the keys it requires.
VALID: dict[str, Any] = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1741476777,
    "completed_at": 1741476778,
    "status": "completed",
    "incomplete_details": None,
    "model": "gpt-4o-2024-08-06",
    "previous_response_id": None,
    "instructions": None,
    "output": [
        {
            "type": "message",
            "id": "msg_1",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hi", "annotations": [], "logprobs": []}],
        }
    ],
    "error": None,
    "tools": [],
    "tool_choice": "auto",
    "truncation": "disabled",
    "parallel_tool_calls": True,
    "text": {"format": {"type": "text"}},
    "top_p": 1,
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "top_logprobs": 0,
    "temperature": 1,
    "reasoning": None,
    "usage": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "store": True,
    "background": False,
    "service_tier": "default",
    "metadata": {},
    "safety_identifier": None,
    "prompt_cache_key": None,
}


def _with(path: list[str | int], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(VALID)
    target: Any = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def test_the_spec_example_passes() -> None:
    assert response_errors(VALID) == []


def test_a_missing_nullable_key_is_an_error_not_a_null() -> None:
    body = copy.deepcopy(VALID)
    del body["usage"]

    assert response_errors(body) == ["usage: required"]


def test_null_where_the_spec_says_number_fails() -> None:
    assert response_errors(_with(["temperature"], None)) == ["temperature: expected number, got None"]


def test_output_text_needs_logprobs_and_items_need_a_known_type() -> None:
    del_logprobs = copy.deepcopy(VALID)
    del del_logprobs["output"][0]["content"][0]["logprobs"]

    assert response_errors(del_logprobs) == ["output[0].content[0].logprobs: required"]
    assert response_errors(_with(["output", 0, "type"], "custom_tool_call"))[0].startswith("output[0].type:")


def test_reasoning_encrypted_content_may_be_absent_but_not_null() -> None:
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": []}

    assert response_errors(_with(["output"], [reasoning])) == []
    nulled = _with(["output"], [{**reasoning, "encrypted_content": None}])
    assert response_errors(nulled) == ["output[0].encrypted_content: expected string, got None"]


def test_events_need_a_sequence_number_and_a_known_type() -> None:
    delta = {
        "type": "response.output_text.delta",
        "sequence_number": 3,
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "Hi",
        "logprobs": [],
    }

    assert event_errors(delta) == []
    assert event_errors({k: v for k, v in delta.items() if k != "sequence_number"}) == ["sequence_number: required"]
    assert event_errors({**delta, "type": "response.reasoning_text.delta"})[0].startswith("type:")
    assert event_errors({"type": "response.created", "sequence_number": 0, "response": VALID}) == []
