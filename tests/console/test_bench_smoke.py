"""bench/console.py still runs and prints its table (tiny sizes: this checks the script, not speed)."""

from __future__ import annotations

import subprocess
import sys

from workflow.config import REPO


def test_console_bench_prints_its_table() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "console.py"), "--per-workstation=1", "--requests=1"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    for row in ("clerk's inbox", "case page + timeline", "appraisal dashboard", "route diagram"):
        assert row in run.stdout
    assert "50 demo cases, 1 requests each" in run.stdout
