"""``.local/server.json``: where a running ``make run`` keeps its AWS, so ``make keys`` can reach it.

moto lives inside the ``make run`` process, on a port chosen at start-up; the keys CLI, another process, reads
this file to reach the same table. Written once the table exists, removed when the server stops (by the process
that wrote it: a second server started meanwhile owns the file).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SERVER_STATE = Path(".local/server.json")
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
"""moto accepts any credentials; these keep boto3 from looking for real ones."""


class NoLocalServer(Exception):
    """No ``make run`` to reach: the message says what to do."""


@dataclass(frozen=True)
class LocalServer:
    pid: int
    url: str
    """The gateway's base URL, ``http://127.0.0.1:8000/v1``."""
    aws_endpoint: str
    region: str
    table: str

    def write(self, path: Path = SERVER_STATE) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    def remove(self, path: Path = SERVER_STATE) -> None:
        try:
            if json.loads(path.read_text()).get("pid") == self.pid:
                path.unlink()
        except (OSError, ValueError):
            pass

    def use(self) -> None:
        """Point this process's boto3 and settings at the server's moto table."""
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = self.aws_endpoint
        os.environ.update(LOCAL_CREDENTIALS)
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = self.region
        os.environ["RESPONSES_TABLE_NAME"] = self.table
        for secret in ("RESPONSES_PROVIDER_SECRET_ID", "RESPONSES_SEALING_SECRET_ID"):  # real AWS's, not moto's
            os.environ.pop(secret, None)


def running_server(path: Path = SERVER_STATE) -> LocalServer:
    """The ``make run`` whose moto answers; ``NoLocalServer`` if there is none."""
    try:
        server = LocalServer(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise NoLocalServer(
            f"no local server: {path} does not exist. Start `make run` first (in this directory): "
            "local keys live in its in-memory AWS"
        ) from None
    except (OSError, ValueError, TypeError) as exc:
        raise NoLocalServer(f"{path} is unreadable ({exc}); restart `make run` to rewrite it") from None
    if not _answers(server.aws_endpoint):
        raise NoLocalServer(f"the local server of {path} (pid {server.pid}) is not running; start `make run` first")
    return server


def _answers(endpoint: str) -> bool:
    address = urlsplit(endpoint)
    try:
        with socket.create_connection((address.hostname or "127.0.0.1", address.port or 80), timeout=1.0):
            return True
    except OSError:
        return False


LOCAL_KEYS = Path(".local/keys.json")
"""The key records of the last ``make run`` (hashes and tenants, never a key): restored at the next start, so a
key made with ``make keys`` outlives a restart, as the sealing key does."""
_KEY_ITEMS = {"FilterExpression": "begins_with(pk, :prefix)", "ExpressionAttributeValues": {":prefix": {"S": "key#"}}}


def save_keys(client: DynamoDBClient, table: str, path: Path = LOCAL_KEYS) -> int:
    """Write the table's key records to ``path``; returns how many."""
    items = [
        item
        for page in client.get_paginator("scan").paginate(TableName=table, **_KEY_ITEMS)  # type: ignore[arg-type]
        for item in page.get("Items", [])
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(items, file, indent=1)
    return len(items)


def restore_keys(client: DynamoDBClient, table: str, path: Path = LOCAL_KEYS) -> int:
    """Put the key records saved in ``path`` back into the table; returns how many."""
    try:
        items = json.loads(path.read_text())
    except FileNotFoundError:
        return 0
    for item in items:
        client.put_item(TableName=table, Item=item)
    return len(items)
