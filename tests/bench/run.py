"""Orchestration: start moto, the fake upstream and the gateway as separate processes, measure, report.

Process layout on the 2-core machine (all loopback): this process (the load-generating client and the context
load), the gateway (uvicorn, one process, the app exactly as ``make run`` and LWA serve it), the fake upstream
(``http.server``, a thread per connection) and moto (werkzeug, a thread per connection). They compete for the two
cores, so throughput figures are a floor for the gateway; the direct-call baseline at the same concurrency shows
how much of the machine the client and the upstream alone take.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import httpx

from tests.bench import chain, conversation, limits, measure, procs, report, startup
from tests.bench.servers import TOKEN
from tests.bench.wire import WireClient

PHASES = ("latency", "stream", "throughput", "chain", "cold", "bundle")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.bench",
        description="Gateway benchmark. Extra flags may also come from the BENCH_ARGS environment variable.",
    )
    parser.add_argument("--quick", action="store_true", help="fewer samples and shorter windows (about 1 min)")
    parser.add_argument("--samples", type=int, help="sequential requests per latency figure (default 400)")
    parser.add_argument("--duration", type=float, help="seconds measured per throughput point (default 5)")
    parser.add_argument("--warmup", type=float, help="seconds of load before each throughput window (default 1)")
    parser.add_argument("--concurrency", default="1,8,32", help="throughput points (default 1,8,32)")
    parser.add_argument("--tokens", type=int, default=20, help="content chunks per upstream reply (default 20)")
    parser.add_argument("--delay-ms", type=float, default=0.0, help="upstream delay before each chunk (default 0)")
    parser.add_argument("--depths", default="1,10,100,500", help="chain depths for the context load")
    parser.add_argument("--repeats", type=int, help="context loads per depth (default 7)")
    parser.add_argument("--cold-runs", type=int, help="fresh processes for the cold start (default 5)")
    parser.add_argument(
        "--skip",
        default="",
        help=f"comma-separated phases to leave out: {','.join(PHASES)} (for quick before/after comparisons)",
    )
    parser.add_argument("--bundle-timeout", type=float, default=180.0)
    parser.add_argument("--out", type=Path, default=procs.ROOT / "bench-results")
    args = parser.parse_args(argv)
    quick = args.quick
    for name, full, short in (
        ("samples", 400, 100),
        ("duration", 5.0, 2.0),
        ("warmup", 1.0, 0.5),
        ("repeats", 7, 3),
        ("cold_runs", 5, 3),
    ):
        if getattr(args, name) is None:
            setattr(args, name, short if quick else full)
    args.skip = {phase for phase in args.skip.split(",") if phase}
    if args.skip - set(PHASES):
        parser.error(f"--skip: unknown phase(s) {sorted(args.skip - set(PHASES))}; known: {', '.join(PHASES)}")
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.depths = [int(d) for d in args.depths.split(",")]
    return args


def _log(message: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def _meta(args: argparse.Namespace) -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=procs.ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = bool(
        subprocess.run(
            ["git", "status", "--porcelain", "functions"], cwd=procs.ROOT, capture_output=True, text=True
        ).stdout.strip()
    )
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit + ("+dirty" if dirty else ""),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "server": "uvicorn "
        + ("httptools" if find_spec("httptools") else "h11")
        + "/"
        + ("uvloop" if find_spec("uvloop") else "asyncio")
        + ", 1 process",
        "upstream": f"{args.tokens} chunks, {args.delay_ms:g} ms before each",
        "samples": args.samples,
        "duration_s": args.duration,
        "quick": args.quick,
        "loadavg_before": os.getloadavg()[0],
    }


def _check(client: httpx.Client, gateway: measure.Target, tokens: int) -> None:
    """One request end to end before measuring: the gateway must really relay the fake's text."""
    reply = client.post(gateway.url, content=gateway.body, headers=gateway.headers)
    reply.raise_for_status()
    text = "".join(part["text"] for item in reply.json()["output"] for part in item.get("content", []))
    if text != TOKEN * tokens:
        raise RuntimeError(f"unexpected gateway output: {text[:80]!r}")


def _serve_and_measure(args: argparse.Namespace, aws: procs.Child, results: dict[str, Any]) -> None:
    env = procs.clean_env()
    delay = args.delay_ms / 1000.0
    upstream_args = ("upstream", "--tokens", str(args.tokens), "--delay", str(delay))
    with procs.announced(*upstream_args, env=env) as upstream, procs.gateway(upstream.url, aws.url) as gateway:
        results["memory"] = {"idle_kib": procs.memory_kib(gateway.pid)["VmRSS"]}
        pids = {"gateway": gateway.pid, "upstream": upstream.pid, "client": os.getpid()}
        contention = procs.Contention([*pids.values(), aws.pid])
        buffered = {
            store: measure.targets(gateway.url, upstream.url, store=store, stream=False) for store in (False, True)
        }
        streamed = measure.targets(gateway.url, upstream.url, store=False, stream=True)
        with httpx.Client(timeout=30.0) as checker:
            _check(checker, buffered[False][0], args.tokens)
        client = WireClient()
        try:
            if "latency" not in args.skip:
                _log(f"added latency, buffered, store:false ({args.samples} pairs)")
                results["latency_store_false"] = measure.added_latency(client, *buffered[False], args.samples)
                _log(f"added latency, buffered, store:true ({args.samples} pairs)")
                results["latency_store_true"] = measure.added_latency(client, *buffered[True], args.samples)
            if "stream" not in args.skip:
                _log(f"first output_text.delta ({args.samples} pairs)")
                results["first_delta"] = measure.first_delta(client, *streamed, args.samples)
        finally:
            client.close()
        results["throughput"] = {"gateway": [], "direct": []}
        for concurrency in [] if "throughput" in args.skip else args.concurrency:
            for name, target in (("gateway", buffered[False][0]), ("direct", buffered[False][1])):
                _log(f"throughput {name}, concurrency {concurrency} ({args.warmup:g}+{args.duration:g} s)")
                point = measure.throughput(target, concurrency, warmup=args.warmup, duration=args.duration, pids=pids)
                results["throughput"][name].append(point)
        results["memory"].update(procs.memory_kib(gateway.pid))
        results["meta"]["foreign_cpu_share"] = contention.share()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse([*argv, *shlex.split(os.environ.get("BENCH_ARGS", ""))])
    started = time.perf_counter()
    results: dict[str, Any] = {"meta": _meta(args)}
    with procs.announced("aws", "--table", procs.TABLE, env=procs.clean_env()) as aws:
        _serve_and_measure(args, aws, results)
        if "chain" not in args.skip:
            _log(f"context load, depths {args.depths} ({args.repeats} loads each)")
            results["context_load"] = chain.context_load(aws.url, args.depths, args.repeats, args.tokens)
            _log(f"conversation load, turns 2,200 ({args.repeats} loads each)")
            results["conversation_load"] = conversation.conversation_load(aws.url, [2, 200], args.repeats, args.tokens)
            _log(f"limits and ledger, per request ({args.samples} requests a case)")
            results["limits_cost"] = limits.limits_cost(aws.url, args.samples)
    if "cold" not in args.skip:
        _log(f"cold start ({args.cold_runs} fresh processes)")
        results["cold_start"] = startup.cold_start(args.cold_runs)
    if "bundle" not in args.skip:
        _log("bundle size")
        results["bundle"] = startup.bundle_size(timeout=args.bundle_timeout)
    results["meta"]["elapsed_s"] = time.perf_counter() - started
    previous = report.load(args.out / "latest.json")
    results["targets"] = report.targets(results)
    written = report.write(results, args.out)
    print(report.table(results, previous))
    print("\n" + "\n".join(f"wrote {path}" for path in written))
    return 0
