"""bench/engine.py still runs and prints its tables (tiny sizes: this checks the script, not speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workflow.config import REPO


def test_engine_bench_prints_its_tables() -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "engine.py"),
            "--compare=8",
            "--rounds=1",
            "--cases=4",
            "--transitions=40",
            "--batch=3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    for row in ("plain sqlite3 ", "engine.fire() ", "SpiffWorkflow 3.", ", linear "):
        assert row in out
    assert out.count("wal/FULL") == 4
    assert "engine.fire() / plain sqlite3" in out
    assert "engine.fire() / SpiffWorkflow" in out
    assert "Resident memory of fire() over 4 cases (3 transitions a transaction)" in out
    assert "         40 " in out  # the last checkpoint: all 40 transitions ran
    assert "memory: 40/40 transitions" in run.stderr


def test_fire_ab_compares_two_checkouts(tmp_path: Path) -> None:
    """bench/fire_ab.py against this same checkout: both sides run and a ratio is printed."""
    script = str(REPO / "bench" / "fire_ab.py")
    run = subprocess.run(
        [sys.executable, script, str(REPO), "--cases=4", "--chunk=4"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert "CPU per fire(), synchronous=OFF, 4 turns of 4 firings" in run.stdout
    assert "after / before: " in run.stdout
    bad = subprocess.run(
        [sys.executable, script, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "is not a streetflow checkout" in bad.stderr
