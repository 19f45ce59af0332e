"""bench/http_workers.py still runs and prints its table (tiny sizes: this checks the script, not
speed), on the database the suite runs on."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import PG_ADMIN_URL
from workflow.config import REPO


def test_http_workers_bench_prints_its_table(db_kind: str) -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "http_workers.py"),
            "--cases=3",
            "--clients=2",
            "--workers=2",
            f"--db={db_kind}",
            f"--pg={PG_ADMIN_URL}",
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    speed, usage = run.stdout.split("Where the time went")
    rows = [line.split() for line in speed.splitlines() if line.startswith(db_kind)]
    # database, workers, transitions, errors, per second, p50, p99, vs 1 worker
    assert [r[:4] for r in rows] == [[db_kind, "2", "6", "0"]]
    assert rows[0][7] == "-"  # no one-worker baseline asked for
    # database, workers, CPU ms per transition: server, client, db, total; CPUs busy; waits
    (spent,) = [line.split() for line in usage.splitlines() if line.startswith(db_kind)]
    assert spent[:2] == [db_kind, "2"] and len(spent) == 10
    assert float(spent[2]) > 0 and float(spent[3]) > 0
    if db_kind == "postgresql":
        assert float(spent[4]) > 0  # the backends' CPU, found by the database's name
    else:
        assert spent[4] == "-" and spent[7:] == ["-", "-", "-"]
    assert f"{db_kind}, 2 worker(s): 6 transitions" in run.stderr
