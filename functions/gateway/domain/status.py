"""The one table of allowed status changes. Stores guard every write with it, so status only moves forward."""

from __future__ import annotations

from typing import Final

from gateway.schemas.responses import ResponseStatus

TERMINAL: Final[frozenset[ResponseStatus]] = frozenset({"completed", "failed", "incomplete", "cancelled"})
IN_FLIGHT: Final[frozenset[ResponseStatus]] = frozenset({"queued", "in_progress"})

#   queued ──► in_progress ──► completed | failed | incomplete | cancelled
#     └──────────────────────► cancelled | failed
_NEXT: Final[dict[ResponseStatus, frozenset[ResponseStatus]]] = {
    "queued": frozenset({"in_progress", "cancelled", "failed"}),
    "in_progress": frozenset({"completed", "failed", "incomplete", "cancelled"}),
}


def can_move(source: ResponseStatus, target: ResponseStatus) -> bool:
    return target in _NEXT.get(source, frozenset())
