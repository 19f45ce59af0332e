"""Helpers of the time tests: Shanghai instants, opening and moving cases, a sweep."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as, trail_intact
from workflow.actors import Actor
from workflow.runtime import clock, sla
from workflow.store.models import Case, TrailEvent

SH = dt.timezone(dt.timedelta(hours=8))


def sh(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> dt.datetime:
    """An instant on the Shanghai wall clock."""
    return dt.datetime(y, m, d, h, mi, tzinfo=SH)


def open_at(
    s: Session, clerk: Actor, item: str, at: dt.datetime, workstation: str = "W-ZHL-01"
) -> Case:
    actor = Actor(f"clerk@{workstation}", workstation, "clerk")
    return open_case_as(
        s, item, workstation=workstation, actor=actor, at=at, description="时限测试"
    )


def events(s: Session, case_id: int, action: str | None = None) -> list[TrailEvent]:
    q = select(TrailEvent).where(TrailEvent.case_id == case_id).order_by(TrailEvent.seq)
    if action:
        q = q.where(TrailEvent.action == action)
    return list(s.execute(q).scalars())


def sweep(sessions: sessionmaker[Session], at: dt.datetime, batch: int = 200) -> sla.SweepResult:
    return sla.sweep(sessions, now=at, batch=batch)


chain_intact = trail_intact


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The once-per-year fallback warning, as in a new process."""
    monkeypatch.setattr(clock, "_warned_years", set())
    clock.clear_caches()
    yield
    clock.clear_caches()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
