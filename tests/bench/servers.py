"""Child processes the benchmark starts, each announcing ``READY <url>`` on stdout and exiting when stdin closes.

    python -m tests.bench.servers upstream --tokens 20 --delay 0   # the fake OpenAI-compatible upstream
    python -m tests.bench.servers aws --table responses-bench     # moto (DynamoDB) with the gateway's table

Each runs in its own process so it neither shares a GIL with the gateway nor with the load-generating client.
"""

from __future__ import annotations

import argparse
import sys
from http.server import ThreadingHTTPServer
from typing import Any

from tests.fakes.upstream import FakeUpstream, Json, Reply, text_reply

TOKEN = " lorem"
"""One streamed piece: about one token of English."""


def bench_reply(tokens: int, delay: float) -> Reply:
    """``tokens`` content chunks, the first carrying the role too (so the first chunk *is* the first token and
    "time to first chunk" direct compares like for like with the gateway's first ``output_text.delta``)."""
    reply = text_reply(*([TOKEN] * tokens), delay=delay)
    role, first = reply.chunks[0], reply.chunks[1]
    first["choices"][0]["delta"] = {**role["choices"][0]["delta"], **first["choices"][0]["delta"]}
    del reply.chunks[0]
    return reply


class _Frozen(Reply):
    """A reply whose frames are encoded once, so the fake spends its CPU on HTTP, not on re-encoding JSON."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(chunks=reply.chunks, delay=reply.delay)
        self._frames = super().frames()

    def frames(self) -> list[bytes]:
        return self._frames


class BenchUpstream(FakeUpstream):
    """The same reply to every request, nothing recorded (a recording fake grows without bound under load)."""

    def __init__(self, tokens: int, delay: float) -> None:
        super().__init__()
        self._reply = _Frozen(bench_reply(tokens, delay))

    def respond(self, body: Json, headers: dict[str, str]) -> Reply:
        return self._reply


def _serve_upstream(args: argparse.Namespace) -> None:
    # socketserver listens with a backlog of 5: 32 clients connecting at once overflow it and get resets.
    # This process serves nothing else, so the class default is raised here rather than in tests/fakes.
    ThreadingHTTPServer.request_queue_size = 256
    with BenchUpstream(args.tokens, args.delay).serve() as url:
        _ready(url)


def _serve_aws(args: argparse.Namespace) -> None:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per DynamoDB call

    from gateway.store.schema import create_table

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    create_table(boto3.client("dynamodb", region_name="us-east-1", endpoint_url=endpoint), args.table)
    try:
        _ready(endpoint)
    finally:
        server.stop()


def _ready(url: str) -> None:
    """Announce the URL, then serve until the parent closes our stdin (or dies)."""
    sys.stdout.write(f"READY {url}\n")
    sys.stdout.flush()
    sys.stdin.read()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.servers")
    commands = parser.add_subparsers(dest="command", required=True)
    upstream = commands.add_parser("upstream")
    upstream.add_argument("--tokens", type=int, default=20)
    upstream.add_argument("--delay", type=float, default=0.0, help="seconds before each chunk")
    aws = commands.add_parser("aws")
    aws.add_argument("--table", default="responses-bench")
    args = parser.parse_args(argv)
    serve: dict[str, Any] = {"upstream": _serve_upstream, "aws": _serve_aws}
    serve[args.command](args)


if __name__ == "__main__":
    main()
