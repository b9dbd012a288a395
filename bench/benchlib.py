"""What every benchmark runner shares: one results table, printed as it grows, and timing helpers."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

RESULTS: list[dict[str, Any]] = []


def record(name: str, value: float, unit: str, *, baseline: float | None = None, ratio: float | None = None,
           target: str = "", ok: bool | None = None, note: str = "") -> None:
    """Add a row to RESULTS (written to bench/results/*.json by the runner) and print it."""
    RESULTS.append({"name": name, "value": round(value, 4), "unit": unit, "baseline": baseline, "ratio": ratio,
                    "target": target, "ok": ok, "note": note})
    ratio_s = f"{ratio:.2f}" if ratio is not None else ""
    base_s = f"{baseline:.4g}" if baseline is not None else ""
    mark = {True: "yes", False: "NO", None: ""}[ok]
    print(f"{name:<44} {value:>12.4g} {unit:<12} {base_s:>10} {ratio_s:>7}  {target:<18} {mark}", flush=True)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call takes, after a collection so earlier garbage is not charged to it."""
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def pct(samples: list[float], p: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]
