"""The gateway's log level: applied where settings are first read (the first request or job), never at import."""

from __future__ import annotations

import logging

from gateway.settings import Settings


def apply_log_level(settings: Settings) -> None:
    """``RESPONSES_LOG_LEVEL`` for every ``gateway.*`` logger; Lambda's runtime owns the handlers."""
    logging.getLogger("gateway").setLevel(settings.log_level)
