"""bench/lists.py still runs against a built instance and prints a row for every list, beside its
baseline (tiny sizes: this checks the script, not speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workflow.config import REPO


def test_lists_bench_prints_every_list(city: Path) -> None:
    url = f"sqlite:///{city}"
    run = subprocess.run(
        [sys.executable, "bench/lists.py", "--db", url, "--reps=1"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "sqlite: 150 cases" in run.stdout
    for row in (
        "baseline: GET /cases/{id} (clerk)",
        "department's list (D-ZF)",
        "district, deep page by cursor",
        "search phone tail (clerk)",
        "dispatch queue (H-SN)",
        "audit events, street (S-ZHL)",
        "console: trail (street auditor)",
        "console: notifications (S-ZHL)",
    ):
        assert row in run.stdout
    assert "p95/base" in run.stdout
