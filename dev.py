#!/usr/bin/env python3
"""Bootstrap with nothing but Python 3.11+: `python3 dev.py run`, `python3 dev.py test` or `python3 dev.py bench`.

Creates .venv, installs the pinned dependencies from the lock files and DineCard itself,
then runs the demo server, the test suite or the benchmarks (docs/performance.md).
Extra arguments go to the command (`python3 dev.py bench --quick`, `--only checkout hot`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def _install(lock: str) -> None:
    if not (BIN / "python").exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{lock}"
    sources = [ROOT / lock, ROOT / "pyproject.toml"]
    if stamp.exists() and all(stamp.stat().st_mtime >= s.stat().st_mtime for s in sources):
        return
    print(f"Installing dependencies from {lock} ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(ROOT / lock)], check=True)
    subprocess.run([*pip, "--no-deps", "-e", str(ROOT)], check=True)
    stamp.touch()


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script must explain itself on an old Python
        print("DineCard needs Python 3.11 or newer", file=sys.stderr)
        return 2
    command = sys.argv[1] if len(sys.argv) > 1 else "help"
    extra = sys.argv[2:]
    if command == "run":
        _install("requirements.lock")
        return subprocess.call([str(BIN / "dinecard"), "quickstart", *extra], cwd=ROOT)
    if command == "test":
        _install("requirements-dev.lock")
        return subprocess.call([str(BIN / "python"), "-m", "pytest", *extra], cwd=ROOT)
    if command == "bench":
        _install("requirements-dev.lock")
        return subprocess.call([str(BIN / "python"), str(ROOT / "bench" / "run.py"), *extra], cwd=ROOT)
    print(__doc__)
    return 0 if command == "help" else 2


if __name__ == "__main__":
    sys.exit(main())
