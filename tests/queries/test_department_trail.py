"""A department's part of the trail with many cases (more than trail.FEW_CASES) is read in seq
order: page after page, newest or oldest first, every event of the cases it holds or held and
of its own, once each, whichever way each event is asked (on PostgreSQL, of the department's
cases hashed once, or of the indexes); its count is what counting its first events gave
(more cases than FEW_CASES: more events than the cap, so it goes straight to the estimate)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, delete, event, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from tests.queries.conftest import actor
from workflow import demo
from workflow.audit import chain
from workflow.queries import trail
from workflow.store.models import Case, CaseUnit, TrailEvent

DEPT = "D-GA"  # in the demo month: ten cases handed to it, two held now


@pytest.fixture
def month(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """A month of demo cases; events of the department's own (without a case); a case the
    department holds now whose handing-over is not in case_units (as before migration 0023
    filled it): its part is the cases it holds now too."""
    demo.generate_cases(sessions, now=T0, days=30, per_workstation=3)
    with sessions.begin() as s:
        chain.lock_head(s)
        for k in range(3):
            chain.append(
                s,
                at=T0 + dt.timedelta(minutes=k),
                actor=f"staff@{DEPT}",
                action="definitions.published",
                unit=DEPT,
                data={"k": k},
            )
        held = s.scalars(select(Case.id).where(Case.holder == DEPT).limit(1)).first()
        assert held is not None, "the demo month has a case the department holds"
        s.execute(delete(CaseUnit).where(CaseUnit.unit == DEPT, CaseUnit.case_id == held))
        if s.get_bind().dialect.name == "postgresql":
            for table in ("cases", "trail_events", "case_units"):
                s.execute(text(f"ANALYZE {table}"))
    yield sessions


def _walk(s: Session, who: Any, action: str | None, newest_first: bool) -> list[int]:
    seen: list[int] = []
    after = None
    for _ in range(1000):
        page = trail.list_events(
            s, actor=who, action=action, newest_first=newest_first, after=after, limit=9
        )
        seen += [e.seq for e in page.items]
        if page.next is None:
            return seen
        after = page.next
    raise AssertionError("the pages did not end")


def test_a_departments_part_of_many_cases_page_after_page(
    month: sessionmaker[Session], db_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 5
    monkeypatch.setattr(trail, "FEW_CASES", cap)  # the department has more: read in seq order
    monkeypatch.setattr(trail, "COUNT_CAP", cap)
    who = actor(DEPT, "auditor")
    id_bytes = trail.HASHED_ID_BYTES
    with month() as s:
        engine = s.get_bind()
        cases_of_part = s.scalar(
            select(func.count()).select_from(
                select(CaseUnit.case_id)
                .where(CaseUnit.unit == DEPT)
                .union(select(Case.id).where(Case.holder == DEPT))
                .subquery()
            )
        )
        assert cases_of_part > cap
        plans: list[str] = []  # the plans of the statements that read the part's events

        def explain(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if statement.startswith("SELECT trail_events.seq"):
                raw = conn.connection.driver_connection
                plans.append(str(raw.execute("EXPLAIN " + statement, params).fetchall()))

        # PostgreSQL: hashed, asked of the indexes, and with a hash's memory too small for the
        # department's ids (asked of the indexes: never a set read again for each event).
        ways: list[tuple[int, str | None]] = [(trail.HASHED_CASES, None)]
        if db_kind == "postgresql":
            ways += [(0, None), (trail.HASHED_CASES, "64kB")]
        for action in (None, "case.opened", "definitions.published"):
            where = [trail.readable_part(s, who)]  # each event asked of the indexes
            if action:
                where.append(TrailEvent.action == action)
            expected = list(
                s.scalars(select(TrailEvent.seq).where(*where).order_by(TrailEvent.seq))
            )
            assert expected, action
            for hashed_up_to, work_mem in ways:
                monkeypatch.setattr(trail, "HASHED_CASES", hashed_up_to)
                # (With the small memory, an id reckoned as large: this department's few do not fit.)
                monkeypatch.setattr(trail, "HASHED_ID_BYTES", 64 * 1024 if work_mem else id_bytes)
                if work_mem:
                    s.execute(text(f"SET work_mem = '{work_mem}'"))
                plans.clear()
                if db_kind == "postgresql":
                    event.listen(engine, "before_cursor_execute", explain)
                try:
                    assert _walk(s, who, action, False) == expected, (action, hashed_up_to)
                    assert _walk(s, who, action, True) == expected[::-1], (action, hashed_up_to)
                finally:
                    if db_kind == "postgresql":
                        event.remove(engine, "before_cursor_execute", explain)
                if db_kind == "postgresql":
                    # The way asked for was the way taken.
                    hashed = any("hashed SubPlan" in p for p in plans)
                    assert hashed == bool(hashed_up_to and not work_mem), (action, hashed_up_to)
                    assert not [p for p in plans if "Materialize" in p], plans
                if work_mem:
                    s.execute(text("RESET work_mem"))
        # Its count, with the handing-over back in case_units (as the trail's trigger keeps
        # it): more cases than FEW_CASES are more events than the cap, so the count goes
        # straight to the estimate (here, of so few cases, counted whole); the same as
        # counting the first events first (a cap above FEW_CASES) gives.
        s.execute(insert(CaseUnit).values(unit=DEPT, case_id=held_now(s)))
        really = s.scalar(select(func.count()).where(trail.readable_part(s, who)))
        assert really > cap
        page = trail.list_events(s, actor=who, limit=9)
        monkeypatch.setattr(trail, "COUNT_CAP", cap + 1)
        counted = trail.list_events(s, actor=who, limit=9)
        assert (page.total, page.exact) == (counted.total, counted.exact) == (really, True)


def held_now(s: Session) -> int:
    """The case the department holds whose handing-over the fixture took out of case_units."""
    listed = select(CaseUnit.case_id).where(CaseUnit.unit == DEPT)
    return s.scalars(select(Case.id).where(Case.holder == DEPT, Case.id.not_in(listed))).one()
