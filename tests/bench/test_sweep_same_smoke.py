"""bench/sweep_same.py still sweeps a copy at a fixed clock and compares two swept copies (the
small built instance: this checks the script, not speed)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.bench.conftest import run_bench


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
