"""Run one daily job once, in a process of its own, and print its time and peak memory as JSON.

    DINECARD_DATABASE_URL=... DINECARD_DATA_KEY=... DINECARD_NOW=2026-12-01T00:05:00+08:00 \\
        .venv/bin/python bench/run_job.py points_expiry --as-of 2026-12-01

The job function is the one `dinecard jobs run` calls (found through dinecard.platform.jobs), with
the clock pinned by DINECARD_NOW as the worker's would read it just after midnight. Peak memory is
the process's high-water resident set (VmHWM), which includes Python and DineCard's imports
(`rss_before_kb` says how much of it was there before the job started).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

from dinecard.platform.container import Container
from dinecard.platform.jobs import SilentProgress, registered_jobs
from dinecard.platform.settings import get_settings


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("job")
    parser.add_argument("--as-of", type=date.fromisoformat, required=True)
    args = parser.parse_args()
    jobs = {job.name: job for job in registered_jobs()}
    if args.job not in jobs:
        raise SystemExit(f"unknown job {args.job!r}; known: {', '.join(sorted(jobs))}")
    container = Container.from_settings(get_settings())
    container.program  # noqa: B018 - load the programme before the clock starts
    rss_before = _status_kb("VmRSS")
    started = time.perf_counter()
    result = jobs[args.job].function(container, args.as_of, SilentProgress())
    seconds = time.perf_counter() - started
    container.database.dispose()
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
    peak = _status_kb("VmHWM")
    print(
        json.dumps(
            {
                "job": args.job,
                "seconds": seconds,
                "counts": result.counts,
                "peak_rss_kb": peak,
                "rss_before_kb": rss_before,
            }
        )
    )


if __name__ == "__main__":
    main()
