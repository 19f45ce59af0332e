"""bench/appraisal.py --month still runs on a small month and prints its rows (this checks the
script, not speed)."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy.orm import Session, sessionmaker

from tests.appraisal.month import build_november
from workflow.config import REPO


def test_the_month_bench_prints_both_runs_and_every_query(
    db_url: str, sessions: sessionmaker[Session]
) -> None:
    build_november(sessions)
    script = str(REPO / "bench" / "appraisal.py")
    run = subprocess.run(
        [sys.executable, script, "--period=2026-11", "--month", f"--url={db_url}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    for row in ("first run: inputs", "second run: inputs", "113 records", "open_overdue"):
        assert row in run.stdout
