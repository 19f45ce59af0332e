"""bench/build.py builds an instance a user would recognise: `streetflow audit verify` and
`streetflow audit replay` pass on it, the cases spread over months, items, workstations and
states, a part of them still open."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import PG_ADMIN_URL, _pg_exec
from workflow.config import REPO
from workflow.store.db import make_engine
from workflow.store.models import Case, Task, TrailEvent


@pytest.fixture
def empty_db(db_kind: str, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it (the build migrates it)."""
    if db_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'city.db'}"
        return
    name = f"sf_build_{uuid.uuid4().hex[:8]}"
    _pg_exec(f"CREATE DATABASE {name}")
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_built_instance_verifies_and_spreads_like_a_city(empty_db: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "bench/build.py",
            "--cases",
            "400",
            "--template",
            "120",
            "--months",
            "4",
            "--db",
            empty_db,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr
    assert "400 cases" in run.stdout
    env = {**os.environ, "STREETFLOW_DATABASE_URL": empty_db, "STREETFLOW_INSTANCE": str(tmp_path)}
    # The chain holds, and the rows say what the trail says (replay): the seqs an event's data
    # names (a task's round) are the copies' own, not the template's.
    for command, says in (("verify", "trail intact"), ("replay", "matches its trail")):
        audit = subprocess.run(
            [sys.executable, "-m", "api", "audit", command],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=REPO,
            env=env,
        )
        assert audit.returncode == 0, audit.stdout + audit.stderr
        assert says in audit.stdout
    db = make_engine(empty_db)
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Case)).scalar_one() == 400
        first, last = conn.execute(
            select(func.min(Case.created_at), func.max(Case.created_at))
        ).one()
        assert (last - first).days >= 90
        assert conn.execute(select(func.count(func.distinct(Case.item)))).scalar_one() >= 10
        assert conn.execute(select(func.count(func.distinct(Case.workstation)))).scalar_one() >= 10
        assert conn.execute(select(func.count(func.distinct(Case.state)))).scalar_one() >= 4
        still_open = conn.execute(
            select(func.count()).select_from(Case).where(Case.closed_at.is_(None))
        ).scalar_one()
        assert 0 < still_open < 400
        # Case ids follow the opening order, and every case's first event opens it.
        created = [r[0] for r in conn.execute(select(Case.created_at).order_by(Case.id))]
        assert created == sorted(created)
        openings = conn.execute(
            select(func.count()).select_from(TrailEvent).where(TrailEvent.action == "case.opened")
        ).scalar_one()
        assert openings == 400
        # The copied tasks carry their own copy's street (the whistle boards read it).
        streets = conn.execute(
            select(Task.street, Case.street).join(Case, Case.id == Task.case_id)
        ).all()
        assert streets and all(task == case for task, case in streets)
        # Every unit that held a case is written down for it, as the trail's trigger does on
        # every write (a department's list reads case_units, not the trail).
        held = {
            tuple(r)
            for r in conn.execute(
                select(TrailEvent.to_holder, TrailEvent.case_id)
                .where(TrailEvent.to_holder.is_not(None), TrailEvent.case_id.is_not(None))
                .distinct()
            )
        }
        kept = {tuple(r) for r in conn.exec_driver_sql("SELECT unit, case_id FROM case_units")}
        assert held and kept == held
        if db.dialect.name == "postgresql":
            # Left as autovacuum would leave it: every table analysed, so a bench run right
            # after the build plans with statistics.
            unanalysed = conn.exec_driver_sql(
                "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NULL"
                " AND relname IN ('cases', 'trail_events', 'tasks')"
            ).all()
            assert unanalysed == []
    db.dispose()
