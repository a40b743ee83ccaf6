"""Percentiles, the only statistics the report needs."""

from __future__ import annotations

from collections.abc import Sequence

QUANTILES = {"median": 0.5, "p90": 0.9, "p99": 0.99}


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """median, p90, p99 (same unit as ``values``)."""
    return {name: percentile(values, q) for name, q in QUANTILES.items()}


def overhead(through: Sequence[float], direct: Sequence[float]) -> dict[str, float]:
    """Added cost per quantile: ``p(through) - p(direct)`` for median, p90 and p99.

    Quantile differences, not quantiles of paired differences: the direct call's own jitter would otherwise be
    counted twice in the tail.
    """
    return {name: percentile(through, q) - percentile(direct, q) for name, q in QUANTILES.items()}
