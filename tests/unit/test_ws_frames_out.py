"""Frames posted to API Gateway's WebSocket API: deltas merged, sequence renumbered, the 128 KB limit kept."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from gateway.handlers.ws_frames_out import FRAME_BYTES, METERED_BYTES, Coalescer


def _delta(n: int, text: str, item: str = "msg_1", kind: str = "response.output_text.delta") -> str:
    event = {"type": kind, "item_id": item, "output_index": 0, "content_index": 0, "delta": text, "sequence_number": n}
    return json.dumps(event)


def _post_all(texts: list[str], *, cadence: float = 10.0) -> list[dict[str, Any]]:
    posted: list[str] = []

    async def post(text: str) -> None:
        posted.append(text)

    async def run() -> None:
        out = Coalescer(post, cadence=cadence)
        for text in texts:
            await out.send(text)
        await out.close()

    asyncio.run(run())
    return [json.loads(text) for text in posted]


def test_consecutive_deltas_of_one_part_merge_and_numbers_have_no_gaps() -> None:
    frames = _post_all(
        [
            json.dumps({"type": "response.created", "sequence_number": 0}),
            _delta(1, "Hel"),
            _delta(2, "lo"),
            _delta(3, " wor", item="msg_2"),  # another item: not merged with the first
            _delta(4, "ld", item="msg_2"),
            json.dumps({"type": "response.output_text.done", "sequence_number": 5, "text": "Hello"}),
            _delta(6, "x", kind="response.function_call_arguments.delta"),
        ]
    )
    assert [(f["type"], f.get("delta")) for f in frames] == [
        ("response.created", None),
        ("response.output_text.delta", "Hello"),
        ("response.output_text.delta", " world"),
        ("response.output_text.done", None),
        ("response.function_call_arguments.delta", "x"),
    ]
    assert [f["sequence_number"] for f in frames] == [0, 1, 2, 3, 4]


def test_a_merged_delta_stays_within_one_metered_message() -> None:
    piece = "y" * 1000
    frames = _post_all([_delta(n, piece) for n in range(100)])
    assert "".join(f["delta"] for f in frames) == piece * 100
    assert all(len(json.dumps(f).encode()) <= METERED_BYTES for f in frames)
    assert 3 <= len(frames) <= 5  # 100 KB of text in 32 KB messages


def test_a_delta_waits_no_longer_than_the_cadence() -> None:
    posted: list[str] = []

    async def post(text: str) -> None:
        posted.append(text)

    async def run() -> None:
        out = Coalescer(post, cadence=0.01)
        await out.send(_delta(0, "a"))
        await asyncio.sleep(0.05)  # the model pauses: what waits goes out anyway
        assert len(posted) == 1
        await out.send(_delta(1, "b"))
        await out.close()

    asyncio.run(run())
    assert [json.loads(text)["delta"] for text in posted] == ["a", "b"]


def test_an_event_over_the_frame_limit_becomes_an_error_frame() -> None:
    huge = {"type": "response.completed", "sequence_number": 0, "stream_id": "s", "response": {"x": "z" * FRAME_BYTES}}
    [frame] = _post_all([json.dumps(huge)])
    assert frame["type"] == "error"
    assert frame["error"]["code"] == "response_too_large"
    assert frame["stream_id"] == "s"
