"""bench/sweep_same.py still sweeps a copy at a fixed clock and compares two swept copies (the
small built instance: this checks the script, not speed)."""

from __future__ import annotations

import re
import sqlite3
import uuid
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.bench.conftest import build_small, run_bench
from tests.conftest import PG_ADMIN_URL, _pg_exec


def test_two_copies_swept_at_the_same_clock_compare_the_same(city: Path, tmp_path: Path) -> None:
    copies = [tmp_path / "a.db", tmp_path / "b.db"]
    for copy in copies:
        done = run_bench(
            "bench/sweep_same.py",
            "sweep",
            "--db",
            str(city),
            "--copy",
            str(copy),
            "--now",
            "2030-01-07T08:00:00Z",
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("done: ") and " stages in " in done.stdout
    same = run_bench("bench/sweep_same.py", "compare", *map(str, copies))
    assert same.returncode == 0, same.stdout
    assert same.stdout.rstrip().endswith("the same")
    # A difference is found (and named): one case's row changed by hand in one copy.
    with sqlite3.connect(copies[1]) as con:
        con.execute("UPDATE cases SET version = version + 1 WHERE id = (SELECT min(id) FROM cases)")
    differ = run_bench("bench/sweep_same.py", "compare", *map(str, copies))
    assert differ.returncode == 1
    assert "cases" in differ.stdout and "DIFFER" in differ.stdout


def test_a_sweep_on_this_machines_postgresql_counts_the_servers_cpu(db_kind: str) -> None:
    """On a PostgreSQL server of this machine the sweep's line is followed by the server's CPU
    (its processes read from /proc) and the stages a second the cores allow."""
    if db_kind != "postgresql":
        pytest.skip("the server's CPU is PostgreSQL's")
    if make_url(PG_ADMIN_URL).host not in ("127.0.0.1", "localhost", None):
        pytest.skip("the server's processes are read on its own machine")
    name = f"sf_bench_sweep_{uuid.uuid4().hex[:8]}"
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    _pg_exec(f"CREATE DATABASE {name}")
    try:
        build_small(url)
        done = run_bench(
            "bench/sweep_same.py", "sweep", "--url", url, "--now", "2030-01-07T08:00:00Z"
        )
        assert done.returncode == 0, done.stderr
        first, second = done.stdout.splitlines()[:2]
        assert first.startswith("done: ") and " stages in " in first
        found = re.match(
            r"the server's CPU \(postmaster (\d+) and its processes\) during the stages:"
            r" ([\d.]+) s, (\d+) µs a stage; with the sweep's, (\d+) µs a stage: at most"
            r" ([\d,]+) stages a second on (\d+) cores$",
            second,
        )
        assert found, second
        assert int(found[1]) > 1 and int(found[4]) >= int(found[3])
    finally:
        _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
