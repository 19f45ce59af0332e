"""The sweep spells a chunk's writes before it takes the write lock (the supervisions' rows, their
trail events around the ids and seqs only the lock decides, the holders' notifications): what
it writes is the same, byte for byte and hash for hash, as what it writes when it spells them
under the lock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from tests.time.conftest import chain_intact
from tests.time.test_incremental_sweep import DAY, open_cases
from workflow.audit import chain
from workflow.runtime import sla
from workflow.store.models import (
    Case,
    Delivery,
    Notification,
    OutboxEvent,
    Supervision,
    TrailEvent,
    TrailHead,
)


def _rows(s: Session, model: Any, *, skip: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    table: Table = model.__table__
    cols = [c for c in table.columns if c.name not in skip]
    return [tuple(r) for r in s.execute(select(*cols).order_by(*table.primary_key.columns))]


def _written(s: Session) -> dict[str, list[tuple[Any, ...]]]:
    """What a sweep writes, every column (the trail's written_at is the database's clock). On
    PostgreSQL a rolled-back transaction does not give back the ids its sequences drew, so two
    runs' supervisions (and the trail events that name them) differ by their ids: there only
    the notifications are spelled ahead, and compared without their ids."""
    if s.get_bind().dialect.name != "sqlite":
        return {
            "notifications": _rows(s, Notification, skip=("id",)),
            "deliveries": _rows(s, Delivery, skip=("id",)),
            "cases": _rows(s, Case),
        }
    return {
        "events": _rows(s, TrailEvent, skip=("written_at",)),
        "head": _rows(s, TrailHead),
        "supervisions": _rows(s, Supervision),
        "notifications": _rows(s, Notification),
        "deliveries": _rows(s, Delivery),
        "outbox": _rows(s, OutboxEvent),
        "cases": _rows(s, Case),
    }


def _apply(
    sessions: sessionmaker[Session], planned: list[Any], now: dt.datetime
) -> dict[str, list[tuple[Any, ...]]]:
    """PLANNED written under the lock as a batch of the sweep writes it; what is then in the
    database; rolled back."""
    with sessions() as s:
        chain.lock_head(s)
        result = sla.SweepResult()
        left = sla._apply(
            s, planned, now=now, result=result, started=time.perf_counter(), budget_s=None
        )
        assert left == [] and result.supervisions == len(planned)
        assert chain_intact(s)
        written = _written(s)
        s.rollback()
    return written


def test_a_batch_spelled_before_the_lock_writes_what_it_writes_spelled_under_it(
    sessions: sessionmaker[Session],
) -> None:
    open_cases(sessions, [T0 + k * DAY / 4 for k in range(7)])
    # Long after the limits: each stage turns red, its supervision is raised and listed.
    far = T0 + 60 * DAY
    with sessions() as s:
        before = _written(s)
        planned = sla._plan(s, now=far, limit=100, late=sla.Backlog())
        sla._prepare(s, planned, now=far)
        sqlite = s.get_bind().dialect.name == "sqlite"
    assert len(planned) == 7 and all(st.prepared and st.telling for st in planned)
    # On SQLite (one partition) the supervisions and their events are spelled too.
    assert all(bool(st.spelled) == sqlite for st in planned)
    ahead = _apply(sessions, planned, far)
    under = _apply(
        sessions,
        [
            dataclasses.replace(st, prepared=False, telling=None, spelled=None, on_timeout=None)
            for st in planned
        ],
        far,
    )
    assert ahead == under
    # And they wrote: a notification a stage; two events a stage (raised, listed).
    assert len(ahead["notifications"]) == len(before["notifications"]) + 7
    if sqlite:
        assert len(ahead["events"]) == len(before["events"]) + 14
        assert len(ahead["supervisions"]) == len(before["supervisions"]) + 7
