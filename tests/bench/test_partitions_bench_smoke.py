"""bench/partitions.py still runs and prints its table (tiny sizes: this checks the script, not
speed), on this run's database kind."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from tests.conftest import PG_ADMIN_URL
from workflow.config import REPO


def test_partitions_bench_prints_its_table(db_kind: str, tmp_path: Path) -> None:
    if db_kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'bench.db'}"
    else:
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/sf_bench_{uuid.uuid4().hex[:8]}"
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "partitions.py"),
            "--db",
            url,
            "--partitions",
            "1,2",
            "--writers",
            "2",
            "--cases",
            "6",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    rows = [line.split() for line in run.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert [r[0] for r in rows] == ["1", "2"]
    assert all(r[1] == "12" for r in rows)  # 6 cases, accept and complete each
    assert "verified (1 chain)" in run.stdout and "verified (2 chains)" in run.stdout
    assert "load average" in run.stdout
