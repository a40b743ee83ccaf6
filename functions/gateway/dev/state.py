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
from urllib.parse import urlsplit

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
