"""bench/places.py still runs and prints its table (tiny sizes: this checks the script, not speed)."""

from __future__ import annotations

import subprocess
import sys

from workflow.config import REPO


def test_places_bench_prints_its_table() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "places.py"), "--points=50", "--cases=3"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    for row in ("Places.at_point", "loop over 50 boundaries", "open_case by point", "naming the"):
        assert row in run.stdout, row
