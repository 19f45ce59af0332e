"""The pages a transition's request writes to SQLite's WAL, by table and index: the API's and the
bare `sqlite3` app's (bench/bare_flask.py), each on its own copy of bench/http.py's prepared
database, in process (Flask's test client: no gunicorn, no timing).

    .venv/bin/python bench/http_pages.py [--cases 300] [--warm 20] [--transitions 20]

Before each measured transition every frame in the WAL is checkpointed (PASSIVE: nobody else
reads), so the next commit writes the WAL from its start; after it, the WAL's frames are the
request's: their count, their commits (frames that end one) and their pages, mapped at the end to
the b-tree each page belongs to (SQLite's `dbstat`). A page written twice in a request (two
commits) counts twice. Prints pages a request by b-tree for both targets."""

from __future__ import annotations

import os
import sys

# Run from bench/ or the repository: the repository's packages first.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import tempfile  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


def _http_module() -> Any:
    """bench/http.py (named like the stdlib's module: loaded from its path)."""
    spec = importlib.util.spec_from_file_location("bench_http", Path(__file__).with_name("http.py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _wal_frames(db: Path) -> list[tuple[int, bool]]:
    """(page, ends a commit) for each frame in DB's WAL now, then a checkpoint of them all."""
    con = sqlite3.connect(db, isolation_level=None)
    try:
        busy, frames, _done = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if busy:
            raise SystemExit("the checkpoint was blocked: another connection holds a snapshot")
    finally:
        con.close()
    out: list[tuple[int, bool]] = []
    wal = Path(f"{db}-wal")
    if frames <= 0 or not wal.exists():
        return out
    with open(wal, "rb") as f:
        head = f.read(32)
        page_size = int.from_bytes(head[8:12], "big")
        for i in range(frames):
            f.seek(32 + i * (24 + page_size))
            frame = f.read(8)
            out.append((int.from_bytes(frame[:4], "big"), int.from_bytes(frame[4:8], "big") > 0))
    return out


def _measure(
    name: str, db: Path, tmp: Path, password: str, first: int, warm: int, n: int
) -> tuple[Counter[str], int, int]:
    """Pages by b-tree, frames and commits over N transitions of the target NAME on DB."""
    os.environ["STREETFLOW_DATABASE_URL"] = f"sqlite:///{db}"
    os.environ["STREETFLOW_INSTANCE"] = str(tmp / f"instance-{name}")
    os.environ["STREETFLOW_SECRET_KEY"] = "bench-secret"
    headers: dict[str, str] = {}
    if name == "api":
        from api import create_app

        app = create_app()
        client = app.test_client()
        r = client.post("/api/v1/auth/token", json={"username": "clerk", "password": password})
        assert r.status_code in (200, 201), r.get_data(as_text=True)
        headers["Authorization"] = f"Bearer {r.get_json()['token']}"
        path = "/api/v1/cases/{}/transitions"
    else:
        from bench import bare_flask

        app = bare_flask.create_sqlite3()
        client = app.test_client()
        path = "/bare/cases/{}/transitions"

    def fire(case_id: int) -> None:
        r = client.post(path.format(case_id), json={"trigger": "accept"}, headers=headers)
        assert r.status_code == 200, (case_id, r.status_code, r.get_data(as_text=True)[:300])

    for i in range(first, first + warm):
        fire(i)
    pages: list[int] = []
    frames = commits = 0
    for i in range(first + warm, first + warm + n):
        _wal_frames(db)  # everything before this request: checkpointed
        fire(i)
        got = _wal_frames(db)
        frames += len(got)
        commits += sum(1 for _, end in got if end)
        pages += [p for p, _ in got]
    con = sqlite3.connect(db)
    owner = dict(con.execute("SELECT pageno, name FROM dbstat"))
    con.close()
    by: Counter[str] = Counter(owner.get(p, "(free or new)") for p in pages)
    return by, frames, commits


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--cases", type=int, default=300, help="cases prepared (reported)")
    ap.add_argument("--warm", type=int, default=20, help="transitions before counting")
    ap.add_argument("--transitions", type=int, default=20, help="transitions counted a target")
    args = ap.parse_args()
    if args.cases < args.warm + args.transitions:
        raise SystemExit("--cases must be at least --warm + --transitions")
    http = _http_module()
    tmp = Path(tempfile.mkdtemp(prefix="sf-bench-pages-"))
    try:
        template = tmp / "template.db"
        http.prepare(template, args.cases)
        results = {}
        for name in ("api", "bare"):
            db = tmp / f"{name}.db"
            shutil.copyfile(template, db)
            results[name] = _measure(name, db, tmp, http.PASSWORD, 1, args.warm, args.transitions)
        n = args.transitions
        names = sorted(set(results["api"][0]) | set(results["bare"][0]))
        names.sort(key=lambda k: -(results["api"][0][k] + results["bare"][0][k]))
        print(f"WAL pages a transition ({n} counted after {args.warm}, {args.cases} cases):")
        print(f"{'b-tree':<44}{'API':>8}{'bare':>8}")
        for k in names:
            print(f"{k:<44}{results['api'][0][k] / n:>8.2f}{results['bare'][0][k] / n:>8.2f}")
        print(
            f"{'a request (frames)':<44}{results['api'][1] / n:>8.2f}{results['bare'][1] / n:>8.2f}"
        )
        print(
            f"{'commits a request':<44}{results['api'][2] / n:>8.2f}{results['bare'][2] / n:>8.2f}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
