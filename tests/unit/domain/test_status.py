"""The status table: a response only moves forward, and a finished one never moves again."""

from __future__ import annotations

from itertools import product
from typing import get_args

import pytest

from gateway.domain.status import IN_FLIGHT, TERMINAL, can_move
from gateway.schemas.responses import ResponseStatus

ALL: tuple[ResponseStatus, ...] = get_args(ResponseStatus)
ALLOWED = {
    ("queued", "in_progress"),
    ("queued", "cancelled"),
    ("queued", "failed"),
    ("in_progress", "completed"),
    ("in_progress", "failed"),
    ("in_progress", "incomplete"),
    ("in_progress", "cancelled"),
}
"""RESPONSES_API.md §background: ``queued → in_progress → completed|failed|incomplete|cancelled``, never
backwards; a queued response may also be cancelled, or failed when its job cannot run."""


def test_the_statuses_are_openais_six() -> None:
    assert set(ALL) == {"queued", "in_progress", "completed", "failed", "incomplete", "cancelled"}
    assert set(TERMINAL) == {"completed", "failed", "incomplete", "cancelled"}
    assert set(IN_FLIGHT) == {"queued", "in_progress"}


@pytest.mark.parametrize(("source", "target"), sorted(ALLOWED))
def test_allowed_moves(source: ResponseStatus, target: ResponseStatus) -> None:
    assert can_move(source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("in_progress", "queued"),  # never back to the queue
        ("queued", "completed"),  # a run must start before it can complete
        ("queued", "incomplete"),
        ("queued", "queued"),  # no move to the same status
        ("in_progress", "in_progress"),
    ],
)
def test_forbidden_moves(source: ResponseStatus, target: ResponseStatus) -> None:
    assert not can_move(source, target)


@pytest.mark.parametrize("source", sorted(TERMINAL))
def test_a_terminal_status_moves_nowhere(source: ResponseStatus) -> None:
    assert [target for target in ALL if can_move(source, target)] == []


def test_exactly_the_listed_moves_are_allowed() -> None:
    assert {(s, t) for s, t in product(ALL, ALL) if can_move(s, t)} == ALLOWED
