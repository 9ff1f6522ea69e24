"""Optional sampling profiles of the API processes under load (py-spy), summarized as top functions.

`python3 dev.py bench --profile` runs `py-spy record --gil` on each server's process tree for the
whole load (warm-up included), so only threads holding the GIL are sampled, i.e. where the API
processes spend CPU in Python, not where they wait for the database. It writes the collapsed
stacks next to the logs and prints the functions that held most samples, inclusive of what
they call. py-spy is not a dependency: install it into
the venv when you want profiles (`.venv/bin/pip install py-spy`).

    .venv/bin/python bench/profiling.py /tmp/dinecard-bench-*/profiles/checkout-run1.txt
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections import Counter
from pathlib import Path

from servers import ManagedProcess

TOP = 30


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def start(pid: int, seconds: float, output: Path, log_dir: Path) -> ManagedProcess | None:
    executable = py_spy()
    if executable is None:
        return None
    output.parent.mkdir(parents=True, exist_ok=True)
    argv = [
        executable, "record", "--pid", str(pid), "--subprocesses", "--nonblocking", "--gil", "--rate", "200",
        "--duration", str(max(1, round(seconds))), "--format", "raw", "--output", str(output),
    ]  # fmt: skip
    return ManagedProcess(f"py-spy-{output.stem}", argv, dict(os.environ), log_dir).start()


def summarize(collapsed: Path, top: int = TOP) -> list[tuple[str, float, float]]:
    """(function, inclusive share, self share) of the most-sampled functions, idle threads left out."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        # --subprocesses puts the process's command line first: not a function.
        frames = [_short(frame) for frame in stack.split(";") if not frame.startswith(("process ", " spawn_main("))]
        if not frames or _idle(frames):
            continue
        count = int(count_text)
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    if not total:
        return []
    return [(frame, count / total, own[frame] / total) for frame, count in inclusive.most_common(top)]


def _short(frame: str) -> str:
    """'checkout (dinecard/wallet/checking_out.py:140)' -> 'checkout (wallet/checking_out.py)'."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "dinecard/", "lib/python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})" if where else name


def _idle(frames: list[str]) -> bool:
    leaf = frames[-1]
    return any(word in leaf for word in ("wait (threading.py", "select (selectors.py", "_worker (concurrent"))


def print_summary(collapsed: Path, top: int = TOP) -> None:
    rows = summarize(collapsed, top)
    print(f"  profile {collapsed}: busy samples, inclusive / self")
    for frame, inclusive, own in rows:
        print(f"    {inclusive:6.1%} {own:6.1%}  {frame}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("collapsed", type=Path, nargs="+")
    parser.add_argument("--top", type=int, default=TOP)
    args = parser.parse_args()
    for path in args.collapsed:
        print_summary(path, args.top)


if __name__ == "__main__":
    main()
