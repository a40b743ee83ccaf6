"""The Open Responses HTTP compliance cases, as their runner (``bin/compliance-test.ts``) sends and judges them.

Each case posts one or two ``/responses`` requests and returns the failures the suite would print: an HTTP
error, a schema error (``schema.py``) in the response or any streamed event, or a failed semantic check
(output present, status completed, a ``function_call`` where a tool was offered). The two optional cases
(file search, offline web search) need a vector store or a search backend and are skipped by the suite
unless configured; they are not here.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.clients.openresponses.schema import event_errors, response_errors

Json = dict[str, Any]

WEATHER_TOOL: Json = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a location",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "City and state"}},
        "required": ["location"],
    },
}


def _png() -> str:
    """A 2x2 red PNG as a data URL (made here, so no fixture file is needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    header = (2).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2)))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _pdf() -> str:
    """A one-page PDF whose only text is its title, as a data URL."""
    stream = b"BT /F1 12 Tf 72 72 Td (Title: Compliance Fixture) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    body = b"%PDF-1.1\n" + b"".join(b"%d 0 obj\n%s\nendobj\n" % (n, o) for n, o in enumerate(objects, 1))
    pdf = body + b"trailer\n<< /Root 1 0 R >>\n%%EOF"
    return "data:application/pdf;base64," + base64.b64encode(pdf).decode()


@dataclass
class Client:
    """Posts like the suite's runner: JSON body with ``stream`` set, Bearer key, no retries."""

    base_url: str
    model: str
    http: httpx.Client
    last_events: list[Json] = field(default_factory=list)
    """The events of the last streamed request."""

    def post(self, body: Json, *, stream: bool = False) -> tuple[Json | None, list[str]]:
        """The final response object and the failures found on the way."""
        reply = self.http.post(f"{self.base_url}/responses", json={"model": self.model, **body, "stream": stream})
        if reply.status_code >= 400:
            return None, [f"HTTP {reply.status_code}: {reply.text}"]
        if not stream:
            data = reply.json()
            return data, response_errors(data)
        errors: list[str] = []
        final = None
        events = [json.loads(line[5:]) for line in reply.text.splitlines() if line.startswith("data:")]
        if not events:
            errors.append("No streaming events received")
        for event in events:
            errors += [f"event {event.get('type')}: {e}" for e in event_errors(event)]
            if event.get("type") in ("response.completed", "response.failed", "response.incomplete"):
                final = event.get("response")
        self.last_events = events
        if final is None:
            return None, [*errors, "stream ended without response.completed/failed/incomplete"]
        return final, errors + response_errors(final)


def has_output(response: Json) -> list[str]:
    return [] if response.get("output") else ["Response has no output items"]


def completed(response: Json) -> list[str]:
    status = response.get("status")
    return [] if status == "completed" else [f'Expected status "completed" but got "{status}"']


def has_item(kind: str) -> Callable[[Json], list[str]]:
    def check(response: Json) -> list[str]:
        found = any(item.get("type") == kind for item in response.get("output", []))
        return [] if found else [f'Expected output item of type "{kind}" but none found']

    return check


def _single(body: Json, *checks: Callable[[Json], list[str]], stream: bool = False) -> Callable[[Client], list[str]]:
    def run(client: Client) -> list[str]:
        response, errors = client.post(body, stream=stream)
        if response is None:
            return errors
        return errors + [e for check in checks for e in check(response)]

    return run


def _user(text: str) -> Json:
    return {"type": "message", "role": "user", "content": text}


def _streamed_function_call(client: Client) -> list[str]:
    """The earlier suite revision's streaming tool call case: the function_call's own events must stream."""
    response, errors = client.post(
        {"input": [_user("Weather in San Francisco?")], "tools": [WEATHER_TOOL]}, stream=True
    )
    if response is None:
        return errors
    events = client.last_events
    kinds = [event.get("type") for event in events]
    for kind in ("response.function_call_arguments.delta", "response.function_call_arguments.done"):
        if kind not in kinds:
            errors.append(f"Missing {kind} event")
    for kind in ("response.output_item.added", "response.output_item.done"):
        if not any(e.get("type") == kind and (e.get("item") or {}).get("type") == "function_call" for e in events):
            errors.append(f"Missing {kind} event with function_call item")
    return errors


def _function_call_round_trip(client: Client) -> list[str]:
    first, errors = client.post(
        {
            "input": "Use the weather tool for San Francisco.",
            "tools": [WEATHER_TOOL],
            "tool_choice": {"type": "function", "name": "get_weather"},
        }
    )
    if first is None or errors:
        return errors
    call = next((item for item in first["output"] if item.get("type") == "function_call"), None)
    if call is None or "call_id" not in call:
        return ["First response did not include a function_call with call_id"]
    output = {"type": "function_call_output", "call_id": call["call_id"], "output": "64 degrees and clear"}
    second, errors = client.post({"previous_response_id": first["id"], "input": [output]})
    return errors if second is None else errors + has_output(second) + completed(second)


def _previous_response_id(client: Client) -> list[str]:
    first, errors = client.post({"input": "Remember the word papaya. Reply OK."})
    if first is None or errors:
        return errors
    second, errors = client.post({"previous_response_id": first["id"], "input": "Which word did I give you?"})
    return errors if second is None else errors + has_output(second) + completed(second)


def _compact_new_chain(client: Client) -> list[str]:
    """``websocket-compact-new-chain`` over HTTP (the WebSocket half is the WebSocket suite's): the output of
    ``/responses/compact`` is the base input of a new, unstored, streamed response without a chain."""
    compact = {
        "model": client.model,
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Remember the code word: slate."}],
            },
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "OK."}]},
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Compress this conversation for later continuation."}],
            },
        ],
    }
    reply = client.http.post(f"{client.base_url}/responses/compact", json=compact)
    if reply.status_code >= 400:
        return [f"HTTP {reply.status_code} from /responses/compact: {reply.text}"]
    output = reply.json().get("output")
    if not isinstance(output, list):
        return ["Compaction response did not include an output array"]
    body = {"store": False, "input": [*output, _user("Continue from here. Reply with exactly: compacted")], "tools": []}
    response, errors = client.post(body, stream=True)
    return errors if response is None else errors + has_output(response) + completed(response)


CASES: dict[str, Callable[[Client], list[str]]] = {
    "basic-response": _single({"input": [_user("Say hello in three words.")]}, has_output, completed),
    "streaming-response": _single({"input": [_user("Count to five.")]}, completed, stream=True),
    "system-prompt": _single(
        {"input": [{"type": "message", "role": "system", "content": "Talk like a pirate."}, _user("Hello.")]},
        has_output,
        completed,
    ),
    "tool-calling": _single(
        {"input": [_user("Weather in San Francisco?")], "tools": [WEATHER_TOOL]}, has_output, has_item("function_call")
    ),
    "tool-calling-streaming": _streamed_function_call,
    "function-call-roundtrip": _function_call_round_trip,
    "image-input": _single(
        {
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What is in this image? One sentence."},
                        {"type": "input_image", "image_url": _png()},
                    ],
                }
            ]
        },
        has_output,
        completed,
    ),
    "file-input": _single(
        {
            "input": [
                {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "Answer with the attached file's title only."},
                        {"type": "input_file", "filename": "fixture.pdf", "file_data": _pdf()},
                    ],
                }
            ]
        },
        has_output,
        completed,
    ),
    "multi-turn": _single(
        {
            "input": [
                _user("My name is Alice."),
                {"type": "message", "role": "assistant", "content": "Hello Alice!"},
                _user("What is my name?"),
            ]
        },
        has_output,
        completed,
    ),
    "previous-response-id": _previous_response_id,
    "compact-new-chain": _compact_new_chain,
}
