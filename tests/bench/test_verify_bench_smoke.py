"""bench/verify.py still runs and prints its rows (tiny sizes: this checks the script, not speed)."""

from __future__ import annotations

import subprocess
import sys

from workflow.config import REPO


def test_verify_bench_prints_its_rows() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "verify.py"), "--events=300", "--naive-events=100"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    for row in ("generated 300 events", "verify ", "hashlib ", "orm "):
        assert row in run.stdout
    assert "       300 events" in run.stdout and "       100 events" in run.stdout
