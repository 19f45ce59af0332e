"""`streetflow sla sweep` and the server's background sweep, on a real database."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api import create_app
from api.cli import main
from tests.time.conftest import open_at, sh
from workflow.actors import Actor
from workflow.runtime import engine
from workflow.store.models import Case, Supervision

CLERK = Actor("clerk", "W-ZHL-01", "clerk")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def overdue_cases(
    sessions: sessionmaker[Session], n: int, at: dt.datetime | None = None
) -> list[int]:
    """N cases accepted at AT (by default Thursday 26 November 2026 10:00, due Tuesday
    1 December 17:30)."""
    at = at or sh(2026, 11, 26)
    with sessions.begin() as s:
        ids = []
        for _ in range(n):
            case = open_at(s, CLERK, "SW-11", at)
            engine.fire(s, case.id, "accept", CLERK, now=at)
            ids.append(case.id)
    return ids


def test_sweep_marks_raises_and_is_idempotent(env: Path, sessions: sessionmaker[Session]) -> None:
    ids = overdue_cases(sessions, 3)
    code, out, err = run("sla", "sweep", "--now", "2026-12-01T09:00:00+08:00", "--batch", "2")
    assert code == 0, out + err
    assert "checked 3 cases: 3 turned yellow, 0 turned red, 0 supervision(s)" in out
    assert "swept 3/3 cases" in err
    code, out, _ = run("sla", "sweep", "--now", "2026-12-02T01:00:00Z")
    assert code == 0 and "3 turned red, 3 supervision(s) raised" in out
    code, out, _ = run("sla", "sweep", "--now", "2026-12-02T01:00:00Z")
    assert code == 0 and "checked 0 cases" in out
    with sessions() as s:
        assert sorted(s.execute(select(Supervision.case_id)).scalars()) == ids


def test_the_sweep_signs_a_checkpoint_of_the_trail_when_one_is_due(
    env: Path, sessions: sessionmaker[Session]
) -> None:
    from workflow.store.models import Checkpoint, TrailHead

    overdue_cases(sessions, 1)
    code, out, _ = run("sla", "sweep", "--now", "2026-12-02T01:00:00Z")
    assert code == 0 and "signed a checkpoint of the trail at seq" in out
    with sessions() as s:
        head = s.execute(select(TrailHead.seq)).scalar_one()
        assert s.execute(select(Checkpoint.seq)).scalars().all() == [head]
    # Not due again within the hour.
    code, out, _ = run("sla", "sweep", "--now", "2026-12-02T01:00:00Z")
    assert code == 0 and "checkpoint" not in out
    code, out, _ = run("audit", "verify")
    assert code == 0, out


def test_sweep_refuses_a_bad_instant_and_changes_nothing(
    env: Path, sessions: sessionmaker[Session]
) -> None:
    overdue_cases(sessions, 1)
    for bad, says in (("yesterday", "not an ISO-8601 instant"), ("2026-12-02T09:00", "no UTC")):
        code, _, err = run("sla", "sweep", "--now", bad)
        assert code == 1 and says in err
    with sessions() as s:
        assert s.execute(select(Case.light)).scalar_one() == "green"


def test_sweep_needs_an_initialised_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREETFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    code, _, err = run("sla", "sweep")
    assert code == 1 and "streetflow init" in err


def test_sweep_help_has_an_example_and_exit_codes() -> None:
    code, out, _ = run("sla", "sweep", "--help")
    assert code == 0 and "Example:" in out and "Exit codes:" in out


def test_the_server_sweeps_in_the_background_only_when_asked(
    env: Path, sessions: sessionmaker[Session], db_url: str
) -> None:
    # The background sweep runs at the real time: a case due in January 2026 is overdue then.
    [cid] = overdue_cases(sessions, 1, sh(2026, 1, 5))
    idle = create_app()
    assert "streetflow_sweeper" not in idle.extensions  # off by default
    idle.extensions["streetflow.engine"].dispose()
    app = create_app({"SWEEP_EVERY": 0.2, "DATABASE_URL": db_url})
    sweeper = app.extensions["streetflow_sweeper"]
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with sessions() as s:
                if s.execute(select(Supervision).where(Supervision.case_id == cid)).first():
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("the background sweep raised no supervision in 20 s")
    finally:
        sweeper.stop()
        app.extensions["streetflow.engine"].dispose()
    assert not sweeper.thread.is_alive()
    with sessions() as s:
        assert s.execute(select(Case.light).where(Case.id == cid)).scalar_one() == "red"
