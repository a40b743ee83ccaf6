"""Libraries that log whole bodies at DEBUG, kept quieter: a leaf module, imported before anything reads a secret."""

from __future__ import annotations

import logging

_BODY_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "aiohttp", "httpx", "httpcore", "websockets")
"""Libraries that log what they send and receive at DEBUG (botocore: every AWS reply body, GetSecretValue's too)."""


def quiet_libraries() -> None:
    """Keep libraries that log bodies at INFO or above. Lambda's runtime sets the root logger to the function's
    application log level (DEBUG on dev), and botocore would then log every AWS reply whole: a secret's values,
    stored prompts and outputs. Called before the first AWS call (the provider secret) and with the logging setup."""
    floor = max(logging.INFO, logging.getLogger().getEffectiveLevel())
    for name in _BODY_LOGGERS:
        logging.getLogger(name).setLevel(floor)
