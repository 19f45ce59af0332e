"""Pages a commit writes when a case moves (its holder and stage limit change, as a firing into
a new stage writes the case's row), counted as the frames SQLite's WAL grows by: the same
updates, one commit each, on each file given (say, a copy migrated by main and one by a branch:
the difference is what the branch's indexes of the cases cost each such firing). Raw SQL on the
cases' row only (the trail and the rest of a firing are the same on both sides).

    .venv/bin/python bench/inbox_wal.py /tmp/before.db /tmp/after.db [--moves 300]

Writes to the files: give copies. Exit status 0."""

from __future__ import annotations

import argparse
import random
import sqlite3


def frames_a_move(path: str, moves: int) -> float:
    """The WAL frames a commit of one case's move writes in PATH (the same moves every file)."""
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA wal_autocheckpoint=0")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    held = "FROM cases WHERE holder IS NOT NULL"
    ids = [r[0] for r in con.execute(f"SELECT id {held} ORDER BY id")]
    units = sorted(r[0] for r in con.execute(f"SELECT DISTINCT holder {held}"))
    rnd = random.Random(7)
    for case in rnd.sample(ids, moves):
        due = f"2026-12-{rnd.randint(1, 28):02d} 0{rnd.randint(0, 9)}:00:00.000000"
        con.execute("BEGIN IMMEDIATE")
        con.execute(
            "UPDATE cases SET holder = ?, stage_due_at = ?, version = version + 1 WHERE id = ?",
            (rnd.choice(units), due, case),
        )
        con.execute("COMMIT")
    _busy, frames, _done = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    con.close()
    return float(frames) / moves


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("files", nargs="+", help="SQLite files (copies: they are written)")
    ap.add_argument("--moves", type=int, default=300)
    args = ap.parse_args()
    for path in args.files:
        print(f"{path}: {frames_a_move(path, args.moves):.2f} WAL frames a commit")


if __name__ == "__main__":
    main()
