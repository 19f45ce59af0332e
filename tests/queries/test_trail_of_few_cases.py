"""A unit's part of the trail with few cases (a small department, one with none) is read from
its cases' events by the trail's index on the case, with the unit's own events: page after
page, by cursor or by number, newest or oldest first, every event of the part that matches the
filters, in seq order, once each, and counted exactly. Read in seq order instead, each event
asked whether the part held it, the organisation department's auditor (no case) waited 5 s a
page at a million cases (every event asked)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from tests.queries.conftest import actor
from workflow import demo
from workflow.audit import chain
from workflow.queries import trail
from workflow.store.models import CaseUnit, TrailEvent

NOW = T0


@pytest.fixture
def month(engine: Engine, sessions: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """A month of demo cases, and events of two departments' own (without a case)."""
    demo.generate_cases(sessions, now=NOW, days=30, per_workstation=3)
    with sessions.begin() as s:
        chain.lock_head(s)
        for k, unit in enumerate(("D-ZF", "D-ZF", "D-ZF", "D-ZZB")):
            chain.append(
                s,
                at=NOW + dt.timedelta(minutes=k),
                actor=f"staff@{unit}",
                action="definitions.published" if k else "case.opened",
                unit=unit,
                data={"k": k},
            )
    yield sessions


def test_a_part_of_few_cases_is_read_from_its_cases(
    month: sessionmaker[Session], db_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (The month's every action has few events: none is read from the actions' index here.)
    monkeypatch.setattr(trail, "FEW_OF_AN_ACTION", 0)
    ran: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        ran.append((statement, parameters))

    with month() as s:
        engine = s.get_bind()
        held = dict(s.execute(select(CaseUnit.unit, func.count()).group_by(CaseUnit.unit)).all())
        small = min((u for u in held if u.startswith("D-")), key=lambda u: (held[u], u))
        assert 0 < held[small] < held["D-ZF"] <= trail.FEW_CASES, held
        # The party committee's organisation department: its auditor reads no case.
        assert "D-ZZB" not in held
        for unit in ("D-ZF", small, "D-ZZB"):
            who = actor(unit, "auditor")
            for action in (None, "case.opened", "case.transition"):
                where = [trail.readable_part(s, who)]
                if action:
                    where.append(TrailEvent.action == action)
                expected = list(
                    s.execute(select(TrailEvent.seq).where(*where).order_by(TrailEvent.seq))
                    .scalars()
                    .all()
                )
                ran.clear()
                event.listen(engine, "before_cursor_execute", keep)
                try:
                    for newest_first in (False, True):
                        seen: list[int] = []
                        after = None
                        for _ in range(1000):
                            page = trail.list_events(
                                s,
                                actor=who,
                                action=action,
                                newest_first=newest_first,
                                after=after,
                                limit=7,
                            )
                            seen += [e.seq for e in page.items]
                            # Exactly counted, whatever the count's cap.
                            assert (page.total, page.exact) == (len(expected), True)
                            if page.next is None:
                                break
                            after = page.next
                        assert seen == (expected[::-1] if newest_first else expected), (
                            who,
                            action,
                        )
                    # A page chosen by its number.
                    if len(expected) > 14:
                        page = trail.list_events(s, actor=who, action=action, offset=7, limit=7)
                        assert [e.seq for e in page.items] == expected[7:14]
                finally:
                    event.remove(engine, "before_cursor_execute", keep)
                if db_kind == "sqlite":
                    # No statement walks the trail in seq order (its primary key) asking each
                    # event: the part's events come from the trail's index on the case.
                    raw = s.connection().connection.driver_connection
                    for statement, parameters in ran:
                        if "trail_events" not in statement:
                            continue
                        plan = " / ".join(
                            r[3] for r in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                        )
                        assert "SCAN trail_events" not in plan, plan
        # The department's own events are in its part, its opened cases too.
        who = actor("D-ZF", "auditor")
        own = trail.list_events(s, actor=who, action="definitions.published", limit=7)
        assert [e.actor for e in own.items] == ["staff@D-ZF", "staff@D-ZF"]
        assert own.total == 2 and own.exact
