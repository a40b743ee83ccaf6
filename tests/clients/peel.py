"""Diagnosis only: strip what the gateway refused from a request so the next refusal can be seen.

The gateway refuses the first unsupported thing it meets (``param`` names it, e.g. ``tools[4].type``). To list
*every* gap a client hits, and to get past turn 1 so later turns are recorded too, the recording proxy can
drop the named part and resend, until the gateway accepts or names nothing. A test never passes because of
this: it is how the findings report is produced, and runs in that mode are only reported, never asserted on.
"""

from __future__ import annotations

import copy
import re
from typing import Any

Json = dict[str, Any]
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def path_tokens(param: str) -> list[str | int]:
    """``tools[4].type`` -> ``["tools", 4, "type"]``."""
    return [int(index) if index else key for key, index in _TOKEN.findall(param)]


def peel(body: Json, param: str | None) -> tuple[Json, Any] | None:
    """``body`` without the part ``param`` names, and that part; ``None`` if nothing can be removed.

    A refused ``...[i].type`` removes the whole list element (a tool or item of an unsupported type);
    anything else removes the named key or element itself.
    """
    if not param:
        return None
    tokens = path_tokens(param)
    if len(tokens) >= 2 and tokens[-1] == "type" and isinstance(tokens[-2], int):
        tokens = tokens[:-1]
    peeled = copy.deepcopy(body)
    parent: Any = peeled
    for token in tokens[:-1]:
        try:
            parent = parent[token]
        except (KeyError, IndexError, TypeError):
            return None
    last = tokens[-1]
    try:
        removed = parent[last]
        del parent[last]
    except (KeyError, IndexError, TypeError):
        return None
    return peeled, removed
