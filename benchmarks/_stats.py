"""Small statistics helpers shared by the benchmark scripts.

The scripts run as `python benchmarks/NAME.py`, so this folder is on sys.path and they
import it as `from _stats import ...`; benchmarks/ is deliberately not a package.
"""

from __future__ import annotations

import resource
import statistics
import sys


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) of values: the sorted value at index round(q/100 * (n-1)).

    No interpolation; NaN for an empty list.
    """
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux but in bytes on macOS.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def latency_summary(
    values_ms: list[float],
    qs: tuple[int, ...] = (50, 99),
    *,
    key: str = "{stat}",
    mean: bool = False,
    ndigits: int = 3,
) -> dict[str, float]:
    """Percentiles (and optionally the mean) of millisecond latencies, rounded to ndigits.

    Each key is `key` formatted with stat = "p50", "p99", ..., "mean": for example
    key="append_ms_{stat}" gives append_ms_p50, and key="{stat}_ms" gives p50_ms.
    """
    out = {key.format(stat=f"p{q}"): round(percentile(values_ms, q), ndigits) for q in qs}
    if mean:
        average = statistics.fmean(values_ms) if values_ms else float("nan")
        out[key.format(stat="mean")] = round(average, ndigits)
    return out
