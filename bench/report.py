"""Figures, targets and verdicts: every figure is the median of its runs, printed with min and max.

A figure with a target gets MET or MISSED, judged on the median, except counts that must be
zero (errors, deadlocks), which are judged on the worst run. Ratios are computed within each run
(checkout throughput / thin baseline throughput of the same run), then their median is taken.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    relation: str  # ">=", "<=" or "=="
    value: float
    text: str

    def holds(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.relation == ">=":
            return value >= self.value
        if self.relation == "<=":
            return value <= self.value
        return value == self.value


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str
    target: Target | None = None
    worst_case: bool = False  # judge on the worst run (counts that must be zero)
    digits: int = 1


ZERO = Target("==", 0, "0")

# The figures of issue 7, in the order they are printed. Others (per-operation figures of the
# mixed evening, CPU shares) are printed after these, without a target.
FIGURES = (
    Figure("limit.pgbench_tps", "pgbench tpcb-like, scale 10, 8 clients", "TPS", digits=0),
    Figure("limit.thin.rps", "thin baseline (FastAPI + psycopg pool), 32 clients", "requests/s", digits=0),
    Figure("limit.thin.p99_ms", "thin baseline p99 latency", "ms"),
    Figure("checkout.rps", "checkout on PostgreSQL, members spread", "checkouts/s", digits=0),
    Figure("checkout.ratio_to_thin", "checkout throughput / thin baseline (same run)", "ratio",
           Target(">=", 0.5, ">= 0.50"), digits=2),
    Figure("checkout.p99_ms", "checkout on PostgreSQL p99 latency", "ms", Target("<=", 50, "<= 50 ms")),
    Figure("checkout.errors", "checkout on PostgreSQL errors", "requests", ZERO, worst_case=True, digits=0),
    Figure("hot.rps", "checkout on one hot member", "checkouts/s", Target(">=", 150, ">= 150/s"), digits=0),
    Figure("hot.errors", "hot member errors", "requests", ZERO, worst_case=True, digits=0),
    Figure("hot.deadlocks", "hot member deadlocks (pg_stat_database)", "deadlocks", ZERO, worst_case=True, digits=0),
    Figure("sqlite.rps", "checkout on embedded SQLite", "checkouts/s", Target(">=", 300, ">= 300/s"), digits=0),
    Figure("sqlite.p99_ms", "embedded SQLite p99 latency", "ms", Target("<=", 30, "<= 30 ms")),
    Figure("sqlite.errors", "embedded SQLite errors", "requests", digits=0),
    Figure("mixed.rps", "mixed evening, all operations", "requests/s", digits=0),
    Figure("mixed.errors", "mixed evening errors", "requests", digits=0),
    Figure("jobs.expiry_s", "points expiry at scale", "s", Target("<=", 60, "<= 60 s")),
    Figure("jobs.expiry_peak_rss_mb", "points expiry peak memory", "MB", digits=0),
    Figure("jobs.review_s", "level review at scale", "s", Target("<=", 60, "<= 60 s")),
    Figure("jobs.review_peak_rss_mb", "level review peak memory", "MB", digits=0),
    Figure("memory.worker_rss_mb", "one API worker's RSS after the mixed evening (largest)", "MB",
           Target("<=", 150, "<= 150 MB"), digits=0),
    Figure("ready.serve_pg_s", "dinecard serve ready (PostgreSQL, /readyz 200)", "s", Target("<=", 3, "<= 3 s"),
           digits=2),
    Figure("ready.serve_sqlite_s", "dinecard serve ready (SQLite, /readyz 200)", "s", Target("<=", 3, "<= 3 s"),
           digits=2),
)  # fmt: skip
BY_KEY = {figure.key: figure for figure in FIGURES}


def add_ratios(run_figures: dict[str, float]) -> None:
    """Ratios of one run, from that run's own figures."""
    thin = run_figures.get("limit.thin.rps")
    if thin and "checkout.rps" in run_figures:
        run_figures["checkout.ratio_to_thin"] = run_figures["checkout.rps"] / thin


@dataclass
class Outcome:
    figure: Figure
    values: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def judged(self) -> float:
        """The value the verdict is on: the median, or the worst run for must-be-zero counts."""
        if not self.figure.worst_case or self.figure.target is None:
            return self.median
        return min(self.values) if self.figure.target.relation == ">=" else max(self.values)

    @property
    def verdict(self) -> str:
        if self.figure.target is None:
            return ""
        return "MET" if self.figure.target.holds(self.judged) else "MISSED"

    def text(self) -> str:
        digits = self.figure.digits
        low, high = min(self.values), max(self.values)
        spread = f" ({low:,.{digits}f}–{high:,.{digits}f})" if len(self.values) > 1 else ""
        return f"{self.median:,.{digits}f}{spread} {self.figure.unit}"

    def to_json(self) -> dict[str, object]:
        return {
            "key": self.figure.key,
            "label": self.figure.label,
            "unit": self.figure.unit,
            "values": [round(value, 4) for value in self.values],
            "median": round(self.median, 4),
            "min": round(min(self.values), 4),
            "max": round(max(self.values), 4),
            "target": self.figure.target.text if self.figure.target else None,
            "verdict": self.verdict or None,
        }


def outcomes(runs: list[dict[str, float]]) -> list[Outcome]:
    """Every figure measured in at least one run, the issue's figures first."""
    keys = [figure.key for figure in FIGURES] + sorted({key for run in runs for key in run} - set(BY_KEY))
    found = []
    for key in keys:
        values = [run[key] for run in runs if key in run and not math.isnan(run[key])]
        if values:
            found.append(Outcome(BY_KEY.get(key) or Figure(key, key, _unit_of(key), digits=_digits_of(key)), values))
    return found


def _unit_of(key: str) -> str:
    for suffix, unit in (
        ("_ms_per_request", "ms CPU"),
        ("_ms", "ms"),
        (".rps", "/s"),
        (".errors", "requests"),
        (".deadlocks", "deadlocks"),
        ("_share", "share"),
        ("_mb", "MB"),
    ):
        if key.endswith(suffix):
            return unit
    return ""


def _digits_of(key: str) -> int:
    if key.endswith((".errors", ".rps", ".deadlocks", "_timed_out")):
        return 0
    return 2 if key.endswith("_share") else 1


def print_figures(found: list[Outcome], runs: int) -> None:
    print(f"\n== Figures: median (min–max) over {runs} run{'' if runs == 1 else 's'} ==")
    for outcome in found:
        figure = outcome.figure
        if figure.target is None and figure.key not in BY_KEY:
            continue  # the extra figures are in the summary table only
        print(f"\n{figure.label} [{figure.key}]")
        print(f"  {outcome.text()} over {len(outcome.values)} run{'s' if len(outcome.values) > 1 else ''}")
        if figure.target is not None:
            basis = "worst run" if figure.worst_case else "median"
            print(f"  target {figure.target.text} (on the {basis})")
            print(f"  {outcome.verdict}")


def print_summary(found: list[Outcome]) -> None:
    rows = [(o.figure.key, o.text(), o.figure.target.text if o.figure.target else "", o.verdict) for o in found]
    widths = [
        max(len(row[i]) for row in [("figure", "median (min–max)", "target", "verdict"), *rows]) for i in range(4)
    ]
    print("\n== Summary ==")
    header = ("figure", "median (min–max)", "target", "verdict")
    print("  ".join(text.ljust(width) for text, width in zip(header, widths, strict=True)))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        print("  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip())
    judged = [o for o in found if o.verdict]
    met = sum(1 for o in judged if o.verdict == "MET")
    print(f"\n{met} of {len(judged)} targets met.")
