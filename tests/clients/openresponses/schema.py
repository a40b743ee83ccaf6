"""What the Open Responses compliance suite requires of a response object and of each streaming event.

Written here from the specification (``public/openapi/openapi.json`` of openresponses/openresponses), not
copied from it: their runner validates with generated Zod schemas, which accept extra keys but reject a
missing or mistyped required one, an unknown item or event ``type``, and ``null`` where the spec says
``number``. These checks encode the same rules as small composable validators that return error strings
(``path: problem``), like the suite's report.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any, str], list[str]]


def _is(kind: str) -> Check:
    def check(value: Any, path: str) -> list[str]:
        ok = {
            "string": isinstance(value, str),
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "number": isinstance(value, int | float) and not isinstance(value, bool),
            "boolean": isinstance(value, bool),
        }[kind]
        return [] if ok else [f"{path}: expected {kind}, got {value!r:.60}"]

    return check


STRING, INTEGER, NUMBER, BOOLEAN = _is("string"), _is("integer"), _is("number"), _is("boolean")


def anything(value: Any, path: str) -> list[str]:
    return []


def nullable(inner: Check) -> Check:
    return lambda value, path: [] if value is None else inner(value, path)


def enum(*allowed: str) -> Check:
    return lambda value, path: [] if value in allowed else [f"{path}: {value!r} is not one of {list(allowed)}"]


def array(inner: Check) -> Check:
    def check(value: Any, path: str) -> list[str]:
        if not isinstance(value, list):
            return [f"{path}: expected array, got {value!r:.60}"]
        return [error for index, item in enumerate(value) for error in inner(item, f"{path}[{index}]")]

    return check


def obj(required: dict[str, Check], optional: dict[str, Check] | None = None) -> Check:
    """An object with these required keys (extra keys are allowed, as Zod's default objects do)."""

    def check(value: Any, path: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{path or '.'}: expected object, got {value!r:.60}"]
        errors = []
        for key, inner in required.items():
            where = f"{path}.{key}" if path else key
            errors += inner(value[key], where) if key in value else [f"{where}: required"]
        for key, inner in (optional or {}).items():
            if key in value:
                errors += inner(value[key], f"{path}.{key}" if path else key)
        return errors

    return check


def tagged(variants: dict[str, Check]) -> Check:
    """A union told apart by its ``type`` (an unknown type fails, as the suite's discriminated unions do)."""

    def check(value: Any, path: str) -> list[str]:
        kind = value.get("type") if isinstance(value, dict) else None
        if kind not in variants:
            return [f"{path + '.' if path else ''}type: {kind!r} is not one of {sorted(variants)}"]
        return variants[kind](value, path)

    return check


STATUS = enum("in_progress", "completed", "incomplete")
LOGPROB = obj({"token": STRING, "logprob": NUMBER, "bytes": array(INTEGER), "top_logprobs": array(anything)})
ANNOTATION = tagged(
    {"url_citation": obj({"url": STRING, "start_index": INTEGER, "end_index": INTEGER, "title": STRING})}
)
CONTENT_PART = tagged(
    {
        "input_text": obj({"text": STRING}),
        "output_text": obj({"text": STRING, "annotations": array(ANNOTATION), "logprobs": array(LOGPROB)}),
        "text": obj({"text": STRING}),
        "summary_text": obj({"text": STRING}),
        "reasoning_text": obj({"text": STRING}),
        "refusal": obj({"refusal": STRING}),
        "input_image": obj({"image_url": nullable(STRING), "detail": enum("low", "high", "auto")}),
        "input_file": obj({}, {"filename": STRING, "file_url": STRING}),
        "input_video": obj({"video_url": STRING}),
    }
)
ITEM = tagged(
    {
        "message": obj(
            {
                "id": STRING,
                "status": STATUS,
                "role": enum("user", "assistant", "system", "developer"),
                "content": array(CONTENT_PART),
            }
        ),
        "function_call": obj({"id": STRING, "call_id": STRING, "name": STRING, "arguments": STRING, "status": STATUS}),
        "function_call_output": obj({"id": STRING, "call_id": STRING, "output": anything, "status": STATUS}),
        "reasoning": obj(
            {"id": STRING, "summary": array(CONTENT_PART)},
            {"content": array(CONTENT_PART), "encrypted_content": STRING},
        ),
    }
)
TOOL = tagged(
    {
        "function": obj(
            {
                "name": STRING,
                "description": nullable(STRING),
                "parameters": nullable(anything),
                "strict": nullable(BOOLEAN),
            }
        )
    }
)
TOOL_CHOICE_MODE = enum("none", "auto", "required")


def tool_choice(value: Any, path: str) -> list[str]:
    if isinstance(value, str):
        return TOOL_CHOICE_MODE(value, path)
    return tagged(
        {
            "function": obj({}, {"name": STRING}),
            "allowed_tools": obj({"tools": array(anything), "mode": TOOL_CHOICE_MODE}),
        }
    )(value, path)


TEXT_FORMAT = tagged(
    {
        "text": obj({}),
        "json_object": obj({}),
        "json_schema": obj({"name": STRING, "description": nullable(STRING), "schema": anything, "strict": BOOLEAN}),
    }
)
USAGE = obj(
    {
        "input_tokens": INTEGER,
        "output_tokens": INTEGER,
        "total_tokens": INTEGER,
        "input_tokens_details": obj({"cached_tokens": INTEGER}),
        "output_tokens_details": obj({"reasoning_tokens": INTEGER}),
    }
)
RESPONSE = obj(
    {
        "id": STRING,
        "object": enum("response"),
        "created_at": INTEGER,
        "completed_at": nullable(INTEGER),
        "status": STRING,
        "incomplete_details": nullable(obj({"reason": STRING})),
        "model": STRING,
        "previous_response_id": nullable(STRING),
        "instructions": nullable(STRING),
        "output": array(ITEM),
        "error": nullable(obj({"code": STRING, "message": STRING})),
        "tools": array(TOOL),
        "tool_choice": tool_choice,
        "truncation": enum("auto", "disabled"),
        "parallel_tool_calls": BOOLEAN,
        "text": obj({"format": TEXT_FORMAT}, {"verbosity": enum("low", "medium", "high")}),
        "top_p": NUMBER,
        "presence_penalty": NUMBER,
        "frequency_penalty": NUMBER,
        "top_logprobs": INTEGER,
        "temperature": NUMBER,
        "reasoning": nullable(obj({"effort": nullable(STRING), "summary": nullable(STRING)})),
        "usage": nullable(USAGE),
        "max_output_tokens": nullable(INTEGER),
        "max_tool_calls": nullable(INTEGER),
        "store": BOOLEAN,
        "background": BOOLEAN,
        "service_tier": STRING,
        "safety_identifier": nullable(STRING),
        "prompt_cache_key": nullable(STRING),
    },
    {"metadata": anything},  # z.any(): even a missing key passes
)


def _event(**checks: Check) -> Check:
    return obj(dict(sequence_number=INTEGER, **checks))


_LIFECYCLE = _event(response=RESPONSE)
_ITEM_EVENT = _event(output_index=INTEGER, item=nullable(ITEM))
_PART_EVENT = _event(item_id=STRING, output_index=INTEGER, content_index=INTEGER, part=CONTENT_PART)
_SUMMARY_PART_EVENT = _event(item_id=STRING, output_index=INTEGER, summary_index=INTEGER, part=CONTENT_PART)
_AT_CONTENT = {"item_id": STRING, "output_index": INTEGER, "content_index": INTEGER}
_AT_SUMMARY = {"item_id": STRING, "output_index": INTEGER, "summary_index": INTEGER}
_AT_ITEM = {"item_id": STRING, "output_index": INTEGER}
EVENT = tagged(
    {
        "response.created": _LIFECYCLE,
        "response.queued": _LIFECYCLE,
        "response.in_progress": _LIFECYCLE,
        "response.completed": _LIFECYCLE,
        "response.failed": _LIFECYCLE,
        "response.incomplete": _LIFECYCLE,
        "response.output_item.added": _ITEM_EVENT,
        "response.output_item.done": _ITEM_EVENT,
        "response.content_part.added": _PART_EVENT,
        "response.content_part.done": _PART_EVENT,
        "response.output_text.delta": _event(**_AT_CONTENT, delta=STRING, logprobs=array(LOGPROB)),
        "response.output_text.done": _event(**_AT_CONTENT, text=STRING, logprobs=array(LOGPROB)),
        "response.refusal.delta": _event(**_AT_CONTENT, delta=STRING),
        "response.refusal.done": _event(**_AT_CONTENT, refusal=STRING),
        "response.function_call_arguments.delta": _event(**_AT_ITEM, delta=STRING),
        "response.function_call_arguments.done": _event(**_AT_ITEM, arguments=STRING),
        "response.reasoning_summary_part.added": _SUMMARY_PART_EVENT,
        "response.reasoning_summary_part.done": _SUMMARY_PART_EVENT,
        "response.reasoning.delta": _event(**_AT_CONTENT, delta=STRING),
        "response.reasoning.done": _event(**_AT_CONTENT, text=STRING),
        "response.reasoning_summary_text.delta": _event(**_AT_SUMMARY, delta=STRING),
        "response.reasoning_summary_text.done": _event(**_AT_SUMMARY, text=STRING),
        "response.output_text.annotation.added": _event(
            **_AT_CONTENT, annotation_index=INTEGER, annotation=nullable(ANNOTATION)
        ),
        "error": _event(
            error=obj({"type": STRING, "code": nullable(STRING), "message": STRING, "param": nullable(STRING)})
        ),
    }
)


def response_errors(body: Any) -> list[str]:
    return RESPONSE(body, "")


def event_errors(event: Any) -> list[str]:
    return EVENT(event, "")
