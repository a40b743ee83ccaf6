"""The ``JobQueue`` and ``MessageVisibility`` ports."""

from __future__ import annotations

from typing import Protocol

from gateway.queue.messages import BackgroundJob


class JobQueue(Protocol):
    def enqueue(self, job: BackgroundJob) -> None:
        """Hand ``job`` to the workers; raises if the queue did not accept it."""
        ...


class MessageVisibility(Protocol):
    def change_visibility(self, receipt_handle: str, seconds: int) -> bool:
        """Hide the received message for ``seconds`` from now (0: visible at once); False when the queue no longer
        takes this handle (the message was received again since, or deleted)."""
        ...
