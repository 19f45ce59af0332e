"""What the benches' smoke tests share: one small instance built by bench/build.py once per run
(150 cases), copied for each test, since the scripts migrate and write to what they are given.

Built up to a fixed instant: the cases a build makes depend on its clock, and at some hours a
build up to the wall clock gave the clerk of W-ZHL-01, whom bench/lists.py reads as, no case in
the older half of the ids it looks in."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from workflow.config import REPO

BUILT_UP_TO = "2026-11-02T09:00:00+08:00"  # a Monday morning


def run_bench(*args: str) -> subprocess.CompletedProcess[str]:
    """A bench script run as a user runs it, from the repository."""
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=600, cwd=REPO
    )


def build_small(url: str) -> None:
    """The small instance (150 cases over two months up to BUILT_UP_TO) built into URL."""
    done = run_bench(
        "bench/build.py",
        "--cases=150",
        "--template=60",
        "--months=2",
        f"--now={BUILT_UP_TO}",
        "--db",
        url,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def _built_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = tmp_path_factory.mktemp("city") / "city.db"
    build_small(f"sqlite:///{built}")
    return built


@pytest.fixture
def city(_built_city: Path, tmp_path: Path) -> Path:
    """This test's own copy of the small built instance (a SQLite file)."""
    copy = tmp_path / "city.db"
    shutil.copy(_built_city, copy)
    return copy
