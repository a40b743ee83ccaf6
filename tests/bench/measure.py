"""Client-side measurements against the gateway and, as the baseline, the upstream called directly.

Both go through the same client with the same conversation: the gateway gets a Responses request, the upstream
the Chat Completions request the gateway would send for it. Latency probes use ``WireClient`` (raw sockets,
httptools), whose own CPU is too small to disturb the difference; throughput uses httpx's async client.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.bench.procs import GATEWAY_KEY, UPSTREAM_KEY, cpu_seconds
from tests.bench.stats import overhead, summary
from tests.bench.wire import WireClient

PROMPT = "Summarise the plot of Hamlet in two sentences."
MODEL = "bench-model"
DELTA_EVENT = b"event: response.output_text.delta"


@dataclass(frozen=True)
class Target:
    """One endpoint and how to call it."""

    name: str
    url: str
    headers: dict[str, str]
    body: bytes


def targets(gateway_url: str, upstream_url: str, *, store: bool, stream: bool) -> tuple[Target, Target]:
    """(gateway, direct) for the same conversation."""
    gateway_body = {"model": MODEL, "input": PROMPT, "store": store, "stream": stream}
    chat_body = {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    json_headers = {"content-type": "application/json"}
    return (
        Target(
            "gateway",
            f"{gateway_url}/v1/responses",
            {**json_headers, "authorization": f"Bearer {GATEWAY_KEY}"},
            json.dumps(gateway_body).encode(),
        ),
        Target(
            "direct",
            f"{upstream_url}/chat/completions",
            {**json_headers, "authorization": f"Bearer {UPSTREAM_KEY}"},
            json.dumps(chat_body).encode(),
        ),
    )


def _post(client: WireClient, target: Target) -> float:
    """Seconds for one complete buffered exchange (the direct call reads the whole SSE body)."""
    status, elapsed, _, body = client.exchange(target.url, target.headers, target.body)
    if status != 200:
        raise RuntimeError(f"{target.name}: HTTP {status}: {body[:300]!r}")
    return elapsed


def _first(client: WireClient, target: Target, marker: bytes) -> float:
    """Seconds until ``marker`` has arrived in the body; the rest is read so the connection is reused."""
    status, _, first, _ = client.exchange(target.url, target.headers, target.body, marker)
    if status != 200:
        raise RuntimeError(f"{target.name}: HTTP {status}")
    if first is None:
        raise RuntimeError(f"{target.name}: {marker!r} never arrived")
    return first


def paired(
    client: WireClient, gateway: Target, direct: Target, count: int, call: Callable[[WireClient, Target], float]
) -> dict[str, Any]:
    """``count`` calls to each, interleaved and alternating which goes first, so drift hits both equally."""
    for _ in range(min(20, count)):  # warm connections, caches and the gateway's lazily built services
        call(client, gateway)
        call(client, direct)
    through: list[float] = []
    base: list[float] = []
    for index in range(count):
        order = ((gateway, through), (direct, base)) if index % 2 else ((direct, base), (gateway, through))
        for target, sink in order:
            sink.append(call(client, target))
    ms = 1000.0
    return {
        "added_ms": {k: v * ms for k, v in overhead(through, base).items()},
        "gateway_ms": {k: v * ms for k, v in summary(through).items()},
        "direct_ms": {k: v * ms for k, v in summary(base).items()},
        "samples": count,
    }


def added_latency(client: WireClient, gateway: Target, direct: Target, count: int) -> dict[str, Any]:
    return paired(client, gateway, direct, count, _post)


def first_delta(client: WireClient, gateway: Target, direct: Target, count: int) -> dict[str, Any]:
    """Time to the first ``response.output_text.delta`` through the gateway vs the first chunk direct (the fake's
    first chunk already carries the first token)."""
    return paired(
        client,
        gateway,
        direct,
        count,
        lambda c, t: _first(c, t, DELTA_EVENT if t is gateway else b"data: "),
    )


async def _load(target: Target, concurrency: int, warmup: float, duration: float) -> tuple[int, list[float], int, int]:
    """``concurrency`` workers in closed loop for ``warmup + duration`` seconds.

    Each worker is one simulated caller with its own httpx client and keep-alive connection: one shared pool of
    32 connections costs the client several times more CPU per request (httpcore scans every pooled connection
    on each request), and on 2 cores that CPU is taken from the gateway.

    Returns the completions inside the measured window (throughput), the latencies of requests that started and
    finished inside it, every completion (for CPU per request) and the error count.
    """
    # Built before the clock starts: each client creates an SSL context, tens of ms of CPU on this machine.
    clients = [httpx.AsyncClient(timeout=30.0) for _ in range(concurrency)]
    loop = asyncio.get_running_loop()
    begin = loop.time() + warmup
    end = begin + duration
    latencies: list[float] = []
    in_window = completed = errors = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal in_window, completed, errors
        while (start := loop.time()) < end:
            try:
                reply = await client.post(target.url, content=target.body, headers=target.headers)
            except httpx.HTTPError:
                errors += 1
                continue
            done = loop.time()
            completed += 1
            if reply.status_code != 200:
                errors += 1
            elif begin <= done <= end:
                in_window += 1
                if start >= begin:
                    latencies.append(done - start)

    try:
        await asyncio.gather(*(worker(client) for client in clients))
    finally:
        for client in clients:
            await client.aclose()
    return in_window, latencies, completed, errors


def throughput(
    target: Target, concurrency: int, *, warmup: float, duration: float, pids: dict[str, int]
) -> dict[str, Any]:
    """Requests per second at ``concurrency``, plus CPU seconds per request of each process in ``pids``."""
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    in_window, latencies, completed, errors = asyncio.run(_load(target, concurrency, warmup, duration))
    cpu_after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    # CPU is read around the whole run, warm-up included, so it is divided by every completion.
    served = max(1, completed)
    return {
        "concurrency": concurrency,
        "rps": in_window / duration,
        "errors": errors,
        "latency_ms": {k: v * 1000.0 for k, v in summary(latencies).items()},
        "cpu_ms_per_request": {name: (cpu_after[name] - cpu_before[name]) * 1000.0 / served for name in pids},
    }
