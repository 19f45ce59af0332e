"""bench/search.py still runs and prints its rows (tiny sizes: this checks the script, not speed)."""

from __future__ import annotations

import subprocess
import sys

from workflow.config import REPO


def test_search_bench_prints_its_rows() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "search.py"), "--cases=300", "--reps=2"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert "300 cases seeded" in run.stdout
    for row in ("baseline: one case by id", "phone, last 4 digits", "page 200 by number"):
        assert row in run.stdout
