"""The ``JobQueue`` port."""

from __future__ import annotations

from typing import Protocol

from gateway.queue.messages import BackgroundJob


class JobQueue(Protocol):
    def enqueue(self, job: BackgroundJob) -> None:
        """Hand ``job`` to the workers; raises if the queue did not accept it."""
        ...
