"""What per-key limits and the usage ledger cost a request: DynamoDB requests and time (``store/usage.py``).

Runs in the benchmark's own process against the moto server with the gateway's real usage store: for a key with
no limits, with per-minute limits, and with a day budget too, the check before the call (``reserve``) and the
settlement after it (``settle``, which also writes the ledger), each counted and timed. Limits are set high
enough never to refuse: this is the price of the check, not of a refusal.
"""

from __future__ import annotations

import time
from typing import Any

from gateway.domain.limits import Limits, Principal
from gateway.domain.metering import Spent
from tests.bench import procs
from tests.bench.chain import Counter
from tests.bench.procs import TABLE
from tests.bench.stats import summary

CASES = {
    "none": Limits(),
    "rpm+tpm": Limits(rpm=10**9, tpm=10**12),
    "rpm+tpm+day": Limits(rpm=10**9, tpm=10**12, tokens_per_day=10**15),
}


def limits_cost(aws_endpoint: str, repeats: int) -> list[dict[str, Any]]:
    from gateway.store.usage import DynamoUsage

    client = procs.dynamodb(aws_endpoint)
    usage = DynamoUsage(TABLE, client)
    counter = Counter(client)
    spent = Spent(model="bench-model", input_tokens=120, output_tokens=30)
    results = []
    for name, limits in CASES.items():
        principal = Principal("bench", f"key-{name}", limits)
        usage.settle(usage.reserve(principal, 100), spent)  # warm the connection and the items
        reserve_ms, settle_ms = [], []
        reserve_calls: list[str] = []
        settle_calls: list[str] = []
        for _ in range(repeats):
            counter.reset()
            started = time.perf_counter()
            reservation = usage.reserve(principal, 100)
            reserve_ms.append((time.perf_counter() - started) * 1000)
            reserve_calls = list(counter.calls)
            counter.reset()
            started = time.perf_counter()
            usage.settle(reservation, spent)
            settle_ms.append((time.perf_counter() - started) * 1000)
            settle_calls = list(counter.calls)
        results.append(
            {
                "limits": name,
                "reserve_requests": len(reserve_calls),
                "settle_requests": len(settle_calls),
                "calls": [*reserve_calls, *settle_calls],
                "reserve_ms": summary(reserve_ms),
                "settle_ms": summary(settle_ms),
            }
        )
    return results
