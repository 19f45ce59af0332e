"""Every bench script answers `--help` with its whole text: what it measures, against what, and
the command lines to run it (a bench's first line alone was cut mid-sentence and showed none)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from workflow.config import REPO

SCRIPTS = sorted(
    p.name
    for p in (REPO / "bench").glob("*.py")
    if "__main__" in p.read_text(encoding="utf-8")  # not the modules the scripts share
)


def test_the_scripts_are_found() -> None:
    assert {"build.py", "lists.py", "sweep_scale.py", "http.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_shows_how_to_run_it(script: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, f"bench/{script}", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage:")
    assert f"bench/{script}" in run.stdout  # an example command line
    # The first sentence is whole, as written, not cut at the end of its first line.
    first = run.stdout.split("\n\n")[1]
    assert first.rstrip().endswith((".", ":", ")")), first
