"""The Open Responses WebSocket compliance cases, as their runner (``src/lib/compliance-tests.ts``) sends and
judges them.

A session (``makeWebSocketSession``) opens ``ws(s)://<base>/responses`` with the key in ``Authorization``, sends
each step's ``response.create`` once the previous turn ended, and ends a turn on a terminal event
(``response.completed``/``failed``/``incomplete``) or on an error (``type: "error"`` or an ``error.code``). Every
frame must be a streaming event of the HTTP schema or a ``WebSocketErrorEvent``; every request must be a
``WebSocketResponseCreateEvent`` (a ``type``, no ``stream``/``stream_options``/``background``). Each case returns
the failures the suite would print.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.sync.client import connect

from tests.clients.openresponses.cases import completed
from tests.clients.openresponses.schema import INTEGER, STRING, event_errors, nullable, obj, response_errors

Json = dict[str, Any]
Step = Json | Callable[[list["Turn"]], Json]
TERMINAL = ("response.completed", "response.failed", "response.incomplete")
TURN_SECONDS = 30.0
"""The runner's per-turn timeout."""

WEBSOCKET_ERROR = obj(
    {"type": STRING, "status": INTEGER, "error": obj({"code": STRING, "message": STRING}, {"param": nullable(STRING)})}
)
"""``WebSocketErrorEvent``: ``type`` "error", an integer ``status``, and ``error.code`` and ``error.message``."""
DISALLOWED = ("stream", "stream_options", "background")


@dataclass
class Turn:
    request: Json
    events: list[Json] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    final: Json | None = None
    error_code: str | None = None
    error_event: Json | None = None

    @property
    def failed(self) -> bool:
        """``isFailedTurn``: an error frame, an error code, or a failed terminal response."""
        return bool(self.error_event or self.code or (self.final or {}).get("status") == "failed")

    @property
    def code(self) -> str | None:
        """``getTurnErrorCode``: the error frame's code, else the terminal response's ``error.code``."""
        return self.error_code or _code_of(self.final)


@dataclass
class Client:
    base_url: str
    """``http://host:port/v1``."""
    model: str
    http: httpx.Client
    key: str = "compliance"

    def session(self, steps: list[Step], *, validate_requests: bool = True) -> list[Turn]:
        url = "ws" + self.base_url.removeprefix("http") + "/responses"
        turns: list[Turn] = []
        with connect(url, additional_headers={"Authorization": f"Bearer {self.key}"}, max_size=None) as socket:
            for step in steps:
                body = step(turns) if callable(step) else step
                problems = create_event_errors(body) if validate_requests else []
                if problems:
                    raise AssertionError(f"Request {len(turns) + 1}: {problems}")
                turns.append(_turn(socket, body))
        return turns


def _turn(socket: Any, body: Json) -> Turn:
    turn = Turn(body)
    socket.send(json.dumps(body))
    while True:
        try:
            data = json.loads(socket.recv(timeout=TURN_SECONDS))
        except TimeoutError:
            turn.errors.append("Timed out waiting for terminal WebSocket response event")
            return turn
        turn.events.append(data)
        problems = websocket_event_errors(data)
        if problems:
            turn.errors.append(f"Event validation failed for {data.get('type')}: {problems}")
        if data.get("type") in TERMINAL:
            turn.final = data.get("response")
            return turn
        code = _code_of(data)
        if data.get("type") == "error" or code:
            turn.error_code, turn.error_event = code, data
            if not code:
                turn.errors.append(f"WebSocket error event: {json.dumps(data)}")
            return turn


def _code_of(data: Json | None) -> str | None:
    error = (data or {}).get("error")
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def websocket_event_errors(event: Json) -> list[str]:
    """Valid if it is one of the HTTP streaming events or a ``WebSocketErrorEvent`` (the runner's union)."""
    as_event = event_errors(event)
    if not as_event:
        return []
    return [] if event.get("type") == "error" and not WEBSOCKET_ERROR(event, "") else as_event


def create_event_errors(body: Json) -> list[str]:
    errors = [] if body.get("type") == "response.create" else ["type: expected 'response.create'"]
    return errors + [f"{key}: MUST NOT be sent over WebSocket" for key in DISALLOWED if key in body]


def _result(turn: Turn, *checks: Callable[[Json], list[str]]) -> list[str]:
    """``createResponseResult`` with the streaming validators: schema, events present, then ``checks``."""
    if turn.final is None:
        return [*turn.errors, "No terminal response"]
    errors = [*turn.errors, *response_errors(turn.final)]
    if not turn.events:
        errors.append("No streaming events received")
    return errors + [e for check in checks for e in check(turn.final)]


def _create(client: Client, **fields: Any) -> Json:
    return {"type": "response.create", "model": client.model, **fields}


def _final_id(turns: list[Turn]) -> str:
    response_id = (turns[0].final or {}).get("id")
    if not response_id:
        raise AssertionError("First WebSocket turn did not return a response id")
    return str(response_id)


def _has_id(turn: Turn) -> list[str]:
    if turn.final is None:
        return ["Warmup response did not include an id"]
    return response_errors(turn.final) or ([] if turn.final.get("id") else ["Warmup response did not include an id"])


def _response(client: Client) -> list[str]:
    body = _create(client, input=[{"type": "message", "role": "user", "content": "Count from 1 to 3."}])
    [turn] = client.session([body])
    return _result(turn, completed)


def _sequential(client: Client) -> list[str]:
    steps: list[Step] = [
        _create(client, store=False, input="Reply with exactly: first"),
        _create(client, store=False, input="Reply with exactly: second"),
    ]
    turns = client.session(steps)
    return [f"Turn {n}: {e}" for n, turn in enumerate(turns, 1) for e in _result(turn, completed)]


def _continuation(client: Client) -> list[str]:
    first, second = client.session(
        [
            _create(client, store=False, input="Remember the code word: cobalt. Reply with OK."),
            lambda turns: _create(
                client,
                store=False,
                previous_response_id=_final_id(turns),
                input="What is the code word? Reply with only the code word.",
            ),
        ]
    )
    return [*first.errors, *_has_id(first)] or _result(second, completed)


def _reconnect_recovery(client: Client) -> list[str]:
    [first] = client.session([_create(client, store=False, input="Remember the code word: copper. Reply with OK.")])
    errors = [*first.errors, *_has_id(first)]
    if errors:
        return errors
    recovery = _create(
        client,
        store=False,
        input=[{"type": "message", "role": "user", "content": "Start a new response. Reply with exactly: recovered"}],
    )
    reconnect = _create(client, store=False, previous_response_id=_final_id([first]), input="Reply: reconnected")
    missed, recovered = client.session([reconnect, recovery])
    errors = list(missed.errors)
    if missed.code != "previous_response_not_found":
        errors.append(f"Expected previous_response_not_found after reconnecting but got {missed.code}")
    return errors + _result(recovered, completed)


def _previous_not_found(client: Client) -> list[str]:
    missing = _create(client, store=False, previous_response_id="resp_openresponses_missing_1", input="Should fail.")
    [turn] = client.session([missing])
    wrong = turn.code != "previous_response_not_found"
    return [*([f"Expected previous_response_not_found but got {turn.code}"] if wrong else []), *turn.errors]


def _failed_continuation_evicts(client: Client) -> list[str]:
    stray = {"type": "function_call_output", "call_id": "call_openresponses_missing", "output": "No such call."}
    first, failed, retry = client.session(
        [
            _create(client, store=False, input="Remember the code word: ember. Reply with OK."),
            lambda turns: _create(client, store=False, previous_response_id=_final_id(turns), input=[stray]),
            lambda turns: _create(client, store=False, previous_response_id=_final_id(turns), input="Reply: stale"),
        ]
    )
    errors = [*first.errors, *_has_id(first)]
    if not failed.failed:
        errors += [*failed.errors, f"Expected the continuation to fail but got {(failed.final or {}).get('status')}"]
    errors += retry.errors
    if retry.code != "previous_response_not_found":
        errors.append(f"Expected previous_response_not_found after eviction but got {retry.code}")
    return errors


def _compact_new_chain(client: Client) -> list[str]:
    def message(role: str, kind: str, text: str) -> Json:
        return {"type": "message", "role": role, "content": [{"type": kind, "text": text}]}

    compact = {
        "model": client.model,
        "input": [
            message("user", "input_text", "Remember the compaction code word: slate."),
            message("assistant", "output_text", "OK."),
            message("user", "input_text", "Compress this conversation for later continuation."),
        ],
    }
    reply = client.http.post(f"{client.base_url}/responses/compact", json=compact)
    if reply.status_code >= 400:
        return [f"HTTP {reply.status_code} from /responses/compact: {reply.text}"]
    output = reply.json().get("output")
    if not isinstance(output, list):
        return ["Compaction response did not include an output array"]
    follow = {"type": "message", "role": "user", "content": "Continue from here. Reply with exactly: compacted"}
    body = _create(client, store=False, input=[*output, follow], tools=[])
    [turn] = client.session([body], validate_requests=False)
    return _result(turn, completed)


CASES: dict[str, Callable[[Client], list[str]]] = {
    "websocket-response": _response,
    "websocket-sequential-responses": _sequential,
    "websocket-continuation": _continuation,
    "websocket-reconnect-store-false-recovery": _reconnect_recovery,
    "websocket-previous-response-not-found": _previous_not_found,
    "websocket-failed-continuation-evicts-cache": _failed_continuation_evicts,
    "websocket-compact-new-chain": _compact_new_chain,
}
