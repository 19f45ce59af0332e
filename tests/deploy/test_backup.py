"""Backups as docs/deployment.md takes them, restored into a new database that
verifies and replays: pg_dump/pg_restore on PostgreSQL, `.backup` and VACUUM INTO on SQLite."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.trail import SECRET, trail_problems
from workflow.actors import Actor
from workflow.audit import chain
from workflow.runtime import engine as wf
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.models import Case, TrailHead

from .conftest import libpq_url


def some_work(sessions: sessionmaker[Session]) -> tuple[int, str]:
    """Open and move a few cases; the trail head (seq, hash) after it."""
    clerk = Actor("clerk", "W-ZHL-01", "clerk")
    with sessions.begin() as s:
        chain.lock_head(s)
        for i, triggers in enumerate([(), ("accept",), ("accept", "complete")]):
            case = wf.open_case(
                s,
                item="SW-10",
                workstation="W-ZHL-01",
                actor=clerk,
                applicant_name="王芳",
                applicant_phone=f"1380000000{i}",
            )
            for trigger in triggers:
                wf.fire(s, case.id, trigger, clerk)
    with sessions() as s:
        head = s.execute(select(TrailHead)).scalar_one()
        return head.seq, head.hash


def check_restored(url: str, head: tuple[int, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The restored database has the same trail head and cases, and its trail verifies and
    replays, seen from Python and with `streetflow audit verify` and `audit replay`."""
    restored = make_engine(url)
    try:
        sessions = make_sessionmaker(restored)
        with sessions() as s:
            got = s.execute(select(TrailHead)).scalar_one()
            assert (got.seq, got.hash) == head
            assert s.execute(select(func.count()).select_from(Case)).scalar() == 3
        assert trail_problems(sessions) == []
    finally:
        restored.dispose()
    monkeypatch.setenv("STREETFLOW_DATABASE_URL", url)
    monkeypatch.setenv("STREETFLOW_SECRET_KEY", SECRET)
    for command in (["audit", "verify"], ["audit", "replay"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0, result.output


def test_pg_dump_and_pg_restore_into_a_new_database(
    db_kind: str,
    db_url: str,
    sessions: sessionmaker[Session],
    new_database: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if db_kind != "postgresql":
        pytest.skip("pg_dump backs up PostgreSQL")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not installed here")
    head = some_work(sessions)
    dump = tmp_path / "streetflow.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), libpq_url(db_url)], check=True)
    target = new_database()
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "-d", libpq_url(target), str(dump)],
        check=True,
    )
    check_restored(target, head, monkeypatch)


def test_sqlite_backup_and_vacuum_into_while_open(
    db_kind: str,
    db_url: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if db_kind != "sqlite":
        pytest.skip("SQLite backups")
    head = some_work(sessions)
    live = db_url.removeprefix("sqlite:///")
    with sessions() as s:  # the database stays open (and in WAL mode) during both backups
        s.execute(select(TrailHead)).scalar_one()
        vacuumed = tmp_path / "vacuum-into.db"
        with sqlite3.connect(live) as conn:
            conn.execute("VACUUM INTO ?", (str(vacuumed),))
        backups = [vacuumed]
        if shutil.which("sqlite3"):
            dot_backup = tmp_path / "dot-backup.db"
            subprocess.run(["sqlite3", live, f".backup '{dot_backup}'"], check=True)
            backups.append(dot_backup)
    for path in backups:
        check_restored(f"sqlite:///{path}", head, monkeypatch)


def test_sqlite_restore_in_place_removes_the_old_databases_wal_first(
    db_kind: str,
    db_url: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backup restored into the live database's place as docs/deployment.md says (the old
    database's -wal and -shm removed first) holds the backup and verifies; a -wal left there by
    a killed process, with later writes, would be applied to the restored file."""
    if db_kind != "sqlite":
        pytest.skip("SQLite restores")
    head = some_work(sessions)
    live = Path(db_url.removeprefix("sqlite:///"))
    backup = tmp_path / "backup.db"
    with closing(sqlite3.connect(live)) as conn:
        conn.execute("VACUUM INTO ?", (str(backup),))
    # Later writes, still in the -wal when the process dies (kept aside, then put back).
    conn = sqlite3.connect(live)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("UPDATE cases SET applicant_name = '后来写的'")
    conn.commit()
    stale = tmp_path / "stale-wal"
    shutil.copyfile(f"{live}-wal", stale)
    conn.close()
    sessions.kw["bind"].dispose()

    def killed() -> None:
        for end in ("-wal", "-shm"):
            Path(f"{live}{end}").unlink(missing_ok=True)
        shutil.copyfile(stale, f"{live}-wal")

    # Copied into place beside the old -wal: its pages are applied over the backup's (the later
    # writes come back, or the file reads as malformed).
    killed()
    shutil.copyfile(backup, live)
    try:
        with closing(sqlite3.connect(live)) as conn:
            names = {n for (n,) in conn.execute("SELECT applicant_name FROM cases")}
    except sqlite3.DatabaseError as exc:
        assert "malformed" in str(exc)
    else:
        assert names == {"后来写的"}
    # As the documentation restores: the -wal and -shm removed, then the copy.
    killed()
    for end in ("-wal", "-shm"):
        Path(f"{live}{end}").unlink(missing_ok=True)
    shutil.copyfile(backup, live)
    check_restored(f"sqlite:///{live}", head, monkeypatch)
    with closing(sqlite3.connect(live)) as conn:
        assert {n for (n,) in conn.execute("SELECT applicant_name FROM cases")} == {"王芳"}
