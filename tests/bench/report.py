"""The printed table, ``latest.json`` (plus a timestamped copy) and ``latest.png``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

Results = dict[str, Any]

LATENCY_ROWS = (
    ("latency_store_false", "buffered, store:false", 2.0),
    ("latency_store_true", "buffered, store:true", None),
    ("first_delta", "stream, first output_text.delta", 2.0),
)
"""Issue 11's limits, set once the upstream leg went through library code (issue 6 had 1.5 and 1.0 ms)."""
RPS_TARGET = (32, 300.0)
COLD_START_TARGET_MS = 350.0


def load(path: Path) -> Results | None:
    try:
        loaded: Results = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded


def _rps(results: Results, name: str, concurrency: int) -> float | None:
    for point in results.get("throughput", {}).get(name, []):
        if point["concurrency"] == concurrency:
            return float(point["rps"])
    return None


def targets(results: Results) -> list[dict[str, Any]]:
    """Issue 11's targets (the cold start's is issue 6's): measured value, target, met."""
    rows: list[dict[str, Any]] = []
    for key, label, limit in LATENCY_ROWS:
        if limit is not None and key in results:
            value = results[key]["added_ms"]["median"]
            rows.append({"target": f"{label}: added median <= {limit} ms", "value": value, "met": value <= limit})
    concurrency, floor = RPS_TARGET
    rps = _rps(results, "gateway", concurrency)
    if rps is not None:
        rows.append(
            {
                "target": f"req/s at concurrency {concurrency}, store:false >= {floor:g}",
                "value": rps,
                "met": rps >= floor,
            }
        )
    loads = results.get("context_load") or []
    if loads:
        first, last = loads[0], loads[-1]
        rows.append(
            {
                "target": f"DynamoDB requests at depth {last['depth']} <= depth {first['depth']}",
                "value": last["dynamodb_requests"],
                "met": last["dynamodb_requests"] <= first["dynamodb_requests"],
            }
        )
    if "cold_start" in results:
        value = results["cold_start"]["import_ms"]["median"]
        rows.append(
            {
                "target": f"cold start (import + app) <= {COLD_START_TARGET_MS:g} ms",
                "value": value,
                "met": value <= COLD_START_TARGET_MS,
            }
        )
    return rows


def _f(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def table(results: Results, previous: Results | None = None) -> str:
    meta = results["meta"]
    lines = [
        "",
        f"Responses gateway bench  {meta['when']}  commit {meta['commit']}  Python {meta['python']}  {meta['machine']}",
        f"gateway: {meta['server']}; fake upstream: {meta['upstream']}; DynamoDB: moto server",
    ]
    foreign = meta.get("foreign_cpu_share")
    if foreign is not None and foreign > 0.05:
        lines.append(
            f"WARNING: other processes used {foreign:.0%} of the machine's CPU while the servers were measured "
            f"(load average {meta.get('loadavg_before', 0):.1f} at start): latency and throughput are pessimistic."
        )
    if any(key in results for key, _, _ in LATENCY_ROWS):
        lines += [
            "",
            "Latency added by the gateway, ms (gateway - direct, per quantile; same client, same conversation)",
            f"  {'':34}{'median':>8}{'p90':>8}{'p99':>8}   {'gateway p50':>11}{'direct p50':>11}",
        ]
    for key, label, _ in LATENCY_ROWS:
        if key not in results:
            continue
        row = results[key]
        added = row["added_ms"]
        lines.append(
            f"  {label:34}{_f(added['median']):>8}{_f(added['p90']):>8}{_f(added['p99']):>8}   "
            f"{_f(row['gateway_ms']['median']):>11}{_f(row['direct_ms']['median']):>11}"
        )
    if results.get("throughput", {}).get("gateway"):
        lines += _throughput(results)
    if results.get("context_load"):
        lines += _context(results)
    if results.get("conversation_load"):
        lines += _conversation(results)
    if results.get("limits_cost"):
        lines += _limits(results)
    lines += _process(results)
    lines += ["", "Targets (issue 11)" + ("   previous run in brackets" if previous else "")]
    before = {row["target"]: row["value"] for row in (previous or {}).get("targets", [])}
    for row in results.get("targets", []):
        was = before.get(row["target"])
        lines.append(
            f"  {'met   ' if row['met'] else 'MISSED'}  {row['target']:52} {_f(float(row['value'])):>9}"
            + (f"  [{_f(float(was))}]" if was is not None else "")
        )
    lines.append(f"\n(run took {meta.get('elapsed_s', 0):.0f} s)")
    return "\n".join(lines)


def _throughput(results: Results) -> list[str]:
    lines = [
        "",
        "Throughput, buffered, store:false, one gateway process (latency ms under load; CPU ms per request)",
        f"  {'concurrency':>11}{'req/s':>9}{'direct req/s':>14}{'median':>9}{'p90':>8}{'p99':>8}"
        f"{'CPU gw':>8}{'CPU up':>8}{'CPU cl':>8}",
    ]
    direct = {p["concurrency"]: p for p in results.get("throughput", {}).get("direct", [])}
    for point in results.get("throughput", {}).get("gateway", []):
        latency, cpu = point["latency_ms"], point["cpu_ms_per_request"]
        base = direct.get(point["concurrency"], {})
        lines.append(
            f"  {point['concurrency']:>11}{point['rps']:>9.0f}{base.get('rps', float('nan')):>14.0f}"
            f"{_f(latency['median']):>9}{_f(latency['p90']):>8}{_f(latency['p99']):>8}"
            f"{_f(cpu['gateway']):>8}{_f(cpu['upstream']):>8}{_f(cpu['client']):>8}"
            + (f"   ({point['errors']} errors)" if point["errors"] else "")
        )
    return lines


def _context(results: Results) -> list[str]:
    lines = [
        "",
        "Context load of a chained turn, ms (ResponsesService.prepare = moto round trip + gateway's own work)",
        f"  {'depth':>6}{'DDB requests':>13}{'prepare p50':>12}{'p90':>8}{'p99':>8}{'moto p50':>10}"
        f"{'gateway p50':>12}{'p90':>8}{'items':>7}{'KiB':>6}{'~RRU':>6}",
    ]
    for point in results.get("context_load", []):
        prepare, own = point["prepare_ms"], point["gateway_side_ms"]
        lines.append(
            f"  {point['depth']:>6}{point['dynamodb_requests']:>13}{_f(prepare['median']):>12}"
            f"{_f(prepare['p90']):>8}{_f(prepare['p99']):>8}{_f(point['roundtrip_ms']['median']):>10}"
            f"{_f(own['median']):>12}{_f(own['p90']):>8}"
            f"{point['history_items']:>7}{point['partition_kib']:>6.0f}{point['read_units_strong']:>6}"
        )
    return lines


def _conversation(results: Results) -> list[str]:
    """Beside the chain: the same load for a turn in a conversation (``tests/bench/conversation.py``)."""
    lines = [
        "",
        "Context load of a turn in a conversation, ms (ResponsesService.prepare with `conversation`)",
        f"  {'turns':>6}{'DDB requests':>13}{'prepare p50':>12}{'p90':>8}{'p99':>8}{'items':>7}",
    ]
    for point in results["conversation_load"]:
        prepare = point["prepare_ms"]
        lines.append(
            f"  {point['depth']:>6}{point['dynamodb_requests']:>13}{_f(prepare['median']):>12}"
            f"{_f(prepare['p90']):>8}{_f(prepare['p99']):>8}{point['history_items']:>7}"
        )
    return lines


def _limits(results: Results) -> list[str]:
    """What the per-key checks and the ledger add to a request (``tests/bench/limits.py``)."""
    lines = [
        "",
        "Limits and ledger per request, ms (check before the call; settle + ledger after the store)",
        f"  {'limits':<12}{'DDB before':>11}{'p50':>7}{'p90':>7}{'DDB after':>10}{'p50':>7}{'p90':>7}",
    ]
    for point in results["limits_cost"]:
        before, after = point["reserve_ms"], point["settle_ms"]
        lines.append(
            f"  {point['limits']:<12}{point['reserve_requests']:>11}{_f(before['median']):>7}{_f(before['p90']):>7}"
            f"{point['settle_requests']:>10}{_f(after['median']):>7}{_f(after['p90']):>7}"
        )
    return lines


def _process(results: Results) -> list[str]:
    lines: list[str] = []
    cold = results.get("cold_start")
    if cold:
        lines += [
            "",
            f"Cold start, fresh process, ms ({cold['runs']} runs)   median     p90     p99",
            f"  {'import handler + build app':34}{_f(cold['import_ms']['median'], 0):>7}"
            f"{_f(cold['import_ms']['p90'], 0):>8}{_f(cold['import_ms']['p99'], 0):>8}",
            f"  {'+ first request: build_services()':34}{_f(cold['first_request_services_ms']['median'], 0):>7}"
            f"{_f(cold['first_request_services_ms']['p90'], 0):>8}{_f(cold['first_request_services_ms']['p99'], 0):>8}",
            f"  {'interpreter to exit (whole probe)':34}{_f(cold['process_ms']['median'], 0):>7}",
            f"  {'import with no .pyc at all':34}{_f(cold['import_no_pyc_ms'], 0):>7}",
            f"  loaded after import: {', '.join(cold['loaded_after_import']) or 'none of the heavy ones'}",
            "  slowest packages (self ms): "
            + ", ".join(f"{row['package']} {row['self_ms']:.0f}" for row in cold["slowest_imports"][:8]),
        ]
    memory = results.get("memory")
    if memory:
        lines += [
            "",
            f"Gateway process memory: idle {memory['idle_kib'] / 1024:.1f} MiB, after load "
            f"{memory.get('VmRSS', 0) / 1024:.1f} MiB, peak (VmHWM) {memory.get('VmHWM', 0) / 1024:.1f} MiB",
        ]
    bundle = results.get("bundle")
    if bundle:
        size = bundle.get("zip_bytes")
        text = f"{size / 2**20:.2f} MiB zipped" if size else "n/a"
        if bundle.get("unzipped_bytes"):
            text += f", {bundle['unzipped_bytes'] / 2**20:.1f} MiB unzipped"
        lines.append(f"Lambda bundle (build/lambda.zip): {text}  [{bundle.get('note', '')}]")
    return lines


def write(results: Results, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    history = out / "history"
    history.mkdir(exist_ok=True)
    text = json.dumps(results, indent=2, sort_keys=True)
    written = [out / "latest.json", history / (results["meta"]["when"].replace(":", "") + ".json")]
    for path in written:
        path.write_text(text + "\n")
    png = out / "latest.png"
    try:
        chart(results, png)
    except ImportError:
        return written  # matplotlib is in the bench extra; the figures stand without the chart
    except Exception as exc:  # a chart must never cost the figures
        print(f"chart not drawn: {type(exc).__name__}: {exc}")
        return written
    return [*written, png]


def chart(results: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(9, 6), dpi=80)
    meta = results["meta"]
    figure.suptitle(f"gateway bench {meta['when']} {meta['commit']} ({meta['machine']})", fontsize=9)

    ax = axes[0][0]
    labels = [label for key, label, _ in LATENCY_ROWS if key in results]
    for offset, quantile in enumerate(("median", "p90", "p99")):
        values = [results[key]["added_ms"][quantile] for key, _, _ in LATENCY_ROWS if key in results]
        ax.bar([i + (offset - 1) * 0.27 for i in range(len(values))], values, width=0.27, label=quantile)
    for index, (_, _, limit) in enumerate(LATENCY_ROWS):
        if limit is not None:
            ax.hlines(limit, index - 0.45, index + 0.45, colors="red", linestyles="dashed")
    ax.set_xticks(range(len(labels)), [label.replace(", ", "\n", 1) for label in labels], fontsize=7)
    ax.set_ylabel("added ms")
    ax.set_title("latency added (red: target)", fontsize=9)
    ax.legend(fontsize=7)

    ax = axes[0][1]
    if not results.get("throughput", {}).get("gateway"):
        _empty(ax, "throughput")
    for name in ("gateway", "direct") if results.get("throughput", {}).get("gateway") else ():
        points = results.get("throughput", {}).get(name, [])
        ax.plot([p["concurrency"] for p in points], [p["rps"] for p in points], marker="o", label=name)
    if results.get("throughput", {}).get("gateway"):
        ax.axhline(RPS_TARGET[1], color="red", linestyle="dashed", linewidth=1)
        ax.set_xscale("log", base=2)
        levels = [p["concurrency"] for p in results["throughput"]["gateway"]]
        ax.set_xticks(levels, [str(level) for level in levels])
        ax.set_xlabel("concurrency")
        ax.set_ylabel("req/s")
        ax.set_title("buffered store:false throughput", fontsize=9)
        ax.legend(fontsize=7)

    ax = axes[1][0]
    loads = results.get("context_load", [])
    if loads:
        depths = [str(p["depth"]) for p in loads]
        ax.bar(depths, [p["dynamodb_requests"] for p in loads], color="tab:gray")
        ax.set_xlabel("chain depth")
        ax.set_ylabel("DynamoDB requests", fontsize=8)
        twin = ax.twinx()
        twin.plot(depths, [p["prepare_ms"]["median"] for p in loads], marker="o", color="tab:orange", label="prepare")
        twin.plot(depths, [p["gateway_side_ms"]["median"] for p in loads], marker="s", label="gateway side")
        twin.set_ylabel("ms (median)", fontsize=8)
        twin.legend(fontsize=7, loc="upper left")
        ax.set_title("context load of a chained turn", fontsize=9)
    else:
        _empty(ax, "context load")

    ax = axes[1][1]
    cold = results.get("cold_start", {})
    memory = results.get("memory", {})
    bars = {
        "cold start ms": cold.get("import_ms", {}).get("median", 0.0),
        "+ services ms": cold.get("first_request_services_ms", {}).get("median", 0.0),
        "peak RSS MiB": memory.get("VmHWM", 0) / 1024,
        "bundle MiB": (results.get("bundle", {}).get("zip_bytes") or 0) / 2**20,
    }
    ax.barh(list(bars), list(bars.values()), color="tab:green")
    ax.axvline(COLD_START_TARGET_MS, color="red", linestyle="dashed", linewidth=1)
    for index, value in enumerate(bars.values()):
        ax.text(value, index, f" {value:.0f}", va="center", fontsize=7)
    ax.tick_params(labelsize=7)
    ax.set_title("process (red: cold-start target)", fontsize=9)

    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _empty(ax: Any, what: str) -> None:
    ax.text(0.5, 0.5, f"{what}: not measured", ha="center", va="center", transform=ax.transAxes, fontsize=8)
    ax.set_axis_off()
