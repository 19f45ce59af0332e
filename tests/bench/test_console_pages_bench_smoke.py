"""bench/console_pages.py still runs against a built instance and prints a row for every console
page of bench/lists.py, with its statements and a profile when asked (tiny sizes: this checks
the script, not speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workflow.config import REPO


def test_console_pages_bench_prints_every_page(city: Path) -> None:
    url = f"sqlite:///{city}"
    run = subprocess.run(
        [sys.executable, "bench/console_pages.py", "--db", url, "--reps=1", "--profile=3", "--sql"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "150 cases" in run.stdout and "SQL n" in run.stdout
    for row in ("console: case page (clerk)", "console: inbox (D-ZF)", "console: whistles (S-ZHL)"):
        assert row in run.stdout
    assert "function calls" in run.stdout  # the profile
    # --sql: the statements of a request, and the costliest of the slowest requests.
    assert "SELECT" in run.stdout and "its costliest statement" in run.stdout
