"""bench/http.py --where still runs and prints where each target's requests went (tiny sizes:
this checks the script and its gunicorn hooks, not speed). SQLite only: bench/http.py measures
gunicorn on a SQLite file whatever database the suite runs on."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workflow.config import REPO


def test_where_prints_each_targets_parts(db_kind: str) -> None:
    if db_kind != "sqlite":
        pytest.skip("bench/http.py runs on a SQLite file of its own")
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "http.py"),
            "--requests=40",
            "--rounds=1",
            "--clients=2",
            "--where",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    speed, where = run.stdout.split("per measured request")
    rows = {
        line[:16].strip(): line[16:].split()
        for line in speed.splitlines()
        if line.startswith(("streetflow API", "bare "))
    }
    # transitions/s, p50, p99, errors, CPU ms/req, client CPU ms/req
    assert set(rows) == {"streetflow API", "bare Flask", "bare sqlite3"}
    assert all(r[3] == "0" and float(r[5]) > 0 for r in rows.values())
    parts = {line[:22].strip(): line[22:].split() for line in where.splitlines()[2:]}
    # three columns of (calls, wall ms, CPU ms) a request: API, bare Flask, bare sqlite3
    handle = [float(x) for x in parts["handle"]]
    assert handle[0::3] == [1.0, 1.0, 1.0] and all(x > 0 for x in handle)
    # one durable commit a transition, in every target; the token checked once in the API's
    assert [float(x) for x in parts["sql COMMIT"][0::3]] == [1.0, 1.0, 1.0]
    assert float(parts["auth"][0]) == 1.0 and float(parts["auth"][3]) == 0.0
    assert float(parts["plan_fire"][0]) == 1.0 and float(parts["commit_fire"][0]) == 1.0
    # the bare sqlite3 app: its two SELECTs and three writes, no writer lock
    assert [float(x) for x in parts["sql SELECT"][6::3]] == [2.0]
    assert [float(x) for x in parts["sql write"][6::3]] == [3.0]
    assert "flock" not in parts or float(parts["flock"][6]) == 0.0
