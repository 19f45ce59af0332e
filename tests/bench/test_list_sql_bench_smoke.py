"""bench/list_sql.py still runs against a built instance and prints every API list with its SQL's
time, and with --statements each statement (tiny sizes: this checks the script, not speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workflow.config import REPO


def test_list_sql_bench_prints_every_api_list_and_its_statements(city: Path) -> None:
    url = f"sqlite:///{city}"
    run = subprocess.run(
        [sys.executable, "bench/list_sql.py", "--db", url, "--reps=1"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for row in (
        "baseline: GET /cases/{id} (clerk)",
        "whistles our street blew",
        "filter overdue",
        "audit events, street (S-ZHL)",
    ):
        assert row in run.stdout
    assert "console:" not in run.stdout  # the API's lists only
    run = subprocess.run(
        [
            sys.executable,
            "bench/list_sql.py",
            "--db",
            url,
            "--reps=1",
            "--only=overdue",
            "--statements",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "filter overdue" in run.stdout and "whistles" not in run.stdout
    assert "ms  SELECT count(*)" in run.stdout
