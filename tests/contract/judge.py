"""Judge what the gateway sends against OpenAI's published OpenAPI schema and the Open Responses schema.

Each check returns the violations it found (empty when the payload conforms); nothing here raises on a bad payload.
From the shell: ``python -m tests.contract.judge {response,event,items,deleted,error,sse} FILE`` (``-`` for stdin).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from tests.contract.pinned import Spec, load, local_validator

OPENAI = "openai"
OPEN_RESPONSES = "openresponses"
COUNTERPARTS = {"Response": "ResponseResource", "CompactResource": "CompactResource"}
"""OpenAI component -> the Open Responses component that describes the same object."""
DELETED = json.dumps(
    {
        "type": "object",
        "required": ["id", "object", "deleted"],
        "properties": {"id": {"type": "string"}, "object": {"const": "response"}, "deleted": {"const": True}},
        "additionalProperties": False,
    }
)
"""Neither spec gives ``DELETE /responses/{id}`` a body; this is the one openai-python and RESPONSES_API.md §1
document, ``{"id", "object": "response", "deleted": true}``."""


@dataclass(frozen=True)
class Violation:
    spec: str
    """``openai``, ``openresponses``, ``local`` (the deleted object) or ``wire`` (SSE framing, JSON syntax)."""
    schema: str
    path: str
    """JSON pointer into the judged payload."""
    item_type: str | None
    """``type`` of the innermost object on ``path`` that has one (an item, content part or event)."""
    keyword: str
    message: str
    where: str = ""
    """The route or event that carried it, filled in by the caller."""

    @property
    def kind(self) -> str:
        """What it is without the specifics: counts and the allowlist go by this."""
        pattern = "/".join("*" if part.isdigit() else part for part in self.path.split("/"))
        return f"{self.spec}:{self.schema}:{pattern or '/'}:{self.keyword}" + (
            f" [{self.item_type}]" if self.item_type else ""
        )

    def __str__(self) -> str:
        return f"{self.where} {self.spec}:{self.schema} at {self.path or '/'}: {self.message}"


def check(spec: Spec, component: str, payload: Any) -> list[Violation]:
    return _violations(spec.name, component, spec.validator(component), payload)


def response(body: Any) -> list[Violation]:
    """A Response object (create, retrieve, cancel, and inside lifecycle events)."""
    return _both("Response", body)


def item_list(body: Any) -> list[Violation]:
    """A page of ``GET /v1/responses/{id}/input_items`` (Open Responses has no such endpoint)."""
    return check(load(OPENAI), "ResponseItemList", body)


def deleted(body: Any) -> list[Violation]:
    return _violations("local", "DeletedResponse", local_validator(DELETED), body)


def error(body: Any) -> list[Violation]:
    """An HTTP error reply: OpenAI's ``ErrorResponse`` envelope (Open Responses has none for HTTP errors)."""
    return check(load(OPENAI), "ErrorResponse", body)


def event(payload: Any) -> list[Violation]:
    """One stream event, against each spec's schema for its ``type``. A type OpenAI does not define is a
    violation; Open Responses defines a subset, so a type it lacks is not judged there."""
    kind = payload.get("type") if isinstance(payload, dict) else None
    openai = load(OPENAI)
    if kind not in openai.events:
        return [Violation(OPENAI, "ResponseStreamEvent", "/type", None, "enum", f"unknown event type {kind!r}")]
    found = check(openai, openai.events[kind], payload)
    open_responses = load(OPEN_RESPONSES)
    if kind in open_responses.events:
        found += check(open_responses, open_responses.events[kind], payload)
    return found


def _both(component: str, body: Any) -> list[Violation]:
    found = check(load(OPENAI), component, body)
    if component in COUNTERPARTS:
        found += check(load(OPEN_RESPONSES), COUNTERPARTS[component], body)
    return found


def reply(method: str, path: str, status: int, content_type: str, body: bytes) -> list[Violation]:
    """A whole HTTP reply, routed the way the spec's ``paths`` route it. SSE bodies go through ``sse_events``;
    a JSON reply whose route neither spec describes (``/health``, another API) returns no violations."""
    media = content_type.split(";")[0].strip()
    if media == "text/event-stream":
        return [v for payload, name in sse_events(body) for v in _framed(name, payload)]
    try:
        payload = json.loads(body)
    except ValueError:
        if status >= 400 or load(OPENAI).route(method, path):
            return [Violation("wire", media, "", None, "json", f"body is not JSON: {body[:80]!r}")]
        return []
    if status >= 400:
        return error(payload)
    route = load(OPENAI).route(method, path)
    if route is None:
        return []
    schema = route.replies.get(str(status), {}).get(media)
    if schema:
        return _both(schema, payload)
    if method == "DELETE":
        return deleted(payload)
    return [Violation(OPENAI, "paths", "", None, "media", f"{method} {path} {status} {media} is not in the spec")]


def is_judged(method: str, path: str) -> bool:
    return load(OPENAI).route(method, path) is not None


def sse_events(body: bytes) -> Iterator[tuple[Any, str]]:
    """``(data, event name)`` for each event of a complete SSE body, parsed with httpx-sse as clients do."""
    import httpx
    from httpx_sse import EventSource

    source = EventSource(httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body))
    for sse in source.iter_sse():
        try:
            yield json.loads(sse.data), sse.event
        except ValueError:
            yield sse.data, sse.event


def framed(name: str, payload: Any) -> list[Violation]:
    """One parsed SSE event: its data must be a JSON object whose ``type`` is the ``event:`` name."""
    return _framed(name, payload)


def _framed(name: str, payload: Any) -> list[Violation]:
    if not isinstance(payload, dict):
        return [Violation("wire", "sse", "", None, "json", f"event {name!r} data is not a JSON object")]
    found = (
        []
        if payload.get("type") == name
        else [Violation("wire", "sse", "/type", None, "event", f"event: {name!r} but type {payload.get('type')!r}")]
    )
    return found + event(payload)


def _violations(spec: str, schema: str, validator: Draft202012Validator, payload: Any) -> list[Violation]:
    found = []
    for e in _explain(validator.iter_errors(payload)):
        keyword, message = str(e.validator), _message(e)
        if _no_such_variant(e):
            keyword, message = "variant", f"the spec has no variant of this kind: {message}"
        found.append(Violation(spec, schema, _pointer(e), _item_type(payload, e), keyword, message))
    return found


def _no_such_variant(error: ValidationError) -> bool:
    """A union miss where every variant is for another kind of value: not a malformed variant, a missing one."""
    return (
        error.validator in ("oneOf", "anyOf")
        and bool(error.context)
        and all(
            any(_other_kind(sub, error) for sub in error.context if sub.relative_schema_path[0] == branch)
            for branch in {sub.relative_schema_path[0] for sub in error.context}
        )
    )


def _explain(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """The errors that say what is wrong. A ``oneOf``/``anyOf`` miss is replaced by the errors of the variant the
    payload meant (the one whose JSON type and ``type`` discriminator it matches; of several, the one it misses
    least), so a reasoning item with ``content: null`` reads as that, not as "matches none of 28 output items"."""
    for error in errors:
        if error.validator not in ("oneOf", "anyOf") or not error.context:
            yield error
            continue
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        meant = sorted(
            (subs for subs in branches.values() if not any(_other_kind(sub, error) for sub in subs)), key=len
        )
        if len(meant) == 1 or (len(meant) > 1 and len(meant[0]) < len(meant[1])):
            yield from _explain(meant[0])  # the one variant of this kind, or clearly the closest of several
        else:
            yield error


def _other_kind(sub: ValidationError, parent: ValidationError) -> bool:
    """Whether ``sub`` says the variant is for another kind of value: another JSON type, another ``type`` tag."""
    depth = len(sub.absolute_path) - len(parent.absolute_path)
    if depth == 0:
        return sub.validator == "type" or (sub.validator == "required" and sub.message.startswith("'type' "))
    return depth == 1 and sub.absolute_path[-1] == "type" and sub.validator in ("enum", "const", "type")


def _pointer(error: ValidationError) -> str:
    return "".join(f"/{part}" for part in error.absolute_path)


def _item_type(payload: Any, error: ValidationError) -> str | None:
    found = payload.get("type") if isinstance(payload, dict) else None
    node = payload
    for part in error.absolute_path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("type"), str):
            found = node["type"]
    return found if isinstance(found, str) else None


def _message(error: ValidationError) -> str:
    message = error.message
    return message if len(message) <= 300 else message[:297] + "..."


def main(argv: list[str]) -> int:
    checks = {"response": response, "event": event, "items": item_list, "deleted": deleted, "error": error}
    if len(argv) != 2 or argv[0] not in (*checks, "sse"):
        print(__doc__)
        return 2
    kind, name = argv
    raw = sys.stdin.buffer.read() if name == "-" else open(name, "rb").read()  # noqa: SIM115
    if kind == "sse":
        found = [v for payload, event_name in sse_events(raw) for v in _framed(event_name, payload)]
    else:
        found = checks[kind](json.loads(raw))
    for violation in found:
        print(violation)
    print(f"{len(found)} violation(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
