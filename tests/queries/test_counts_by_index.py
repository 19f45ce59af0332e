"""Lists counted and estimated through an index of their own give what their condition gives:
the overdue cases read from the index of the open ones (a street's whistles: test_whistled), and an estimate that samples the index of a
column the list fixes (a state, a clerk's workstation) instead of the cases' rows. Same cases, in
the same order, page after page; the same count; the same estimate."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text, true, update
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import seed_cases
from tests.conftest import T0, seeded
from tests.queries.conftest import actor
from tests.queries.lists import assert_listed_and_counted, condition
from workflow import demo
from workflow.queries import cases, paging, search
from workflow.store.models import Case

STREET = actor("S-ZHL", "staff")
CALLERS = [
    actor("X-SN", "admin"),
    STREET,
    actor("W-ZHL-01", "clerk"),
    actor("D-ZF", "staff"),
    actor("S-ZHL", "auditor"),
]


def fill_month(_engine: Engine, sessions: sessionmaker[Session]) -> None:
    """A month of demo cases: every item and route, sent back, whistled, dispatched, merged;
    some past their whole limit."""
    demo.generate_cases(sessions, now=T0, days=30, per_workstation=3)


month_db, month = seeded("month", fill_month)


def plan(s: Session, stmt: Any) -> str:
    """How the database reads STMT (SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN)."""
    sql = str(stmt.compile(s.get_bind(), compile_kwargs={"literal_binds": True}))
    if s.get_bind().dialect.name == "sqlite":
        rows = s.execute(text("EXPLAIN QUERY PLAN " + sql)).all()
        return "\n".join(str(r[-1]) for r in rows)
    return "\n".join(r[0] for r in s.execute(text("EXPLAIN " + sql)).all())


def test_the_overdue_cases_list_what_their_condition_selects(
    month: sessionmaker[Session],
) -> None:
    with month.begin() as s:
        # A third of the open cases past their whole limit, a few closed ones too.
        past = T0 - dt.timedelta(days=1)
        s.execute(update(Case).where(Case.id % 3 == 0).values(due_at=past))
    with month() as s:
        checked = 0
        for who in CALLERS:
            for f in (
                search.Filters(overdue=True),
                search.Filters(overdue=True, state="processing"),
                search.Filters(overdue=True, q="路灯"),
            ):
                expected = condition(s, who, f)
                assert_listed_and_counted(s, who, f, expected, per_page=5)
                checked += len(expected)
        assert checked > 20  # the month has overdue cases


def test_the_overdue_cases_are_read_from_the_index_of_the_open_ones(
    month: sessionmaker[Session],
) -> None:
    with month() as s:
        where = search.where(s, actor("X-SN", "admin"), search.Filters(overdue=True))
        assert_read_from(s, where, "ix_cases_open_due")


def assert_read_from(s: Session, where: list[Any], index: str) -> None:
    """A list's page and its count (to the cap) by WHERE read INDEX: on SQLite alone, without
    the cases' rows or a sort; PostgreSQL takes it too, its scans forced off (a month of cases
    is a few pages: without that it reads them all)."""
    count = select(func.count()).select_from(select(Case.id).where(*where).limit(1001).subquery())
    newest = select(Case.id).where(*where).order_by(Case.id.desc()).limit(26)
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SET LOCAL enable_seqscan = off"))
        s.execute(text("SET LOCAL enable_bitmapscan = off"))
    for stmt in (count, newest):
        how = plan(s, stmt)
        assert index in how, how
        if s.get_bind().dialect.name == "sqlite":
            assert f"COVERING INDEX {index}" in how, how
            assert "TEMP B-TREE" not in how, how


N = 12_000  # more than search.COUNT_CAP, and than paging.SAMPLE_ROWS twice


def fill_city(_engine: Engine, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        seed_cases(s, N, start=T0)


city_db, city = seeded("city", fill_city)


def test_an_estimate_samples_the_index_of_what_the_list_fixes(
    city: sessionmaker[Session],
) -> None:
    """The same runs of ids sampled, through the index of a column the list fixes (or of the
    open cases, for the overdue ones) instead of the cases' rows: the same estimate."""
    district = actor("X-SN", "admin")
    with city() as s:
        state = s.execute(
            select(Case.state).group_by(Case.state).order_by(func.count().desc()).limit(1)
        ).scalar_one()
        for who, f, index in (
            (district, search.Filters(state=state), "ix_cases_state_id"),
            (district, search.Filters(street="S-ZHL"), "ix_cases_street_id"),
            (actor("S-ZHL", "auditor"), search.Filters(), "ix_cases_street_id"),
            (actor("W-ZHL-01", "clerk"), search.Filters(), "ix_cases_workstation_id"),
            (district, search.Filters(overdue=True), "ix_cases_open_due"),
            (district, search.Filters(overdue=True, state=state), "ix_cases_state_id"),
            (district, search.Filters(view="whistled"), "ix_cases_street_whistled"),
        ):
            where = search.where(s, who, f)
            assert search.sample_index(f, where) == index, f
            really = s.execute(select(func.count(Case.id)).where(*where)).scalar_one()
            n, exact = paging.estimate(s, Case.id, where, sample_by=index)
            assert (n, exact) == paging.estimate(s, Case.id, where), f
            if really > search.COUNT_CAP:
                page = cases.list_cases(s, actor=who, filters=f, limit=5)
                assert (page.total, page.exact) == (max(search.COUNT_CAP + 1, n), False), f
                assert 0.5 * really <= n <= 1.5 * really, f
        # Nothing fixed: the table's ids are sampled, as before.
        assert (
            search.sample_index(search.Filters(), search.where(s, district, search.Filters()))
            is None
        )
        assert paging.estimate(s, Case.id, [true()])[1] is False


def test_an_inbox_estimates_its_count_from_the_holders_index(
    city: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit's inbox over the cap: its estimate samples the same runs of ids through the index
    of what the unit holds (not the cases' rows, nor a clerk's every case ever opened), and is
    the estimate the runs of the cases' rows give."""
    # A cap under what each of these units holds, so that each inbox is estimated.
    monkeypatch.setattr(cases, "COUNT_CAP", 50)
    with city() as s:
        units = s.execute(
            select(Case.holder, func.count())
            .where(Case.holder.is_not(None))
            .group_by(Case.holder)
            .having(func.count() > 50)
        ).all()
        assert units
        for unit, held in units:
            who = actor(unit, "clerk" if unit.startswith("W-") else "staff")
            f = search.Filters(view="inbox")
            where = search.where(s, who, f)
            assert search.sample_index(f, where) == "ix_cases_holder_id"
            sampled = paging.estimate(s, Case.id, where, sample_by="ix_cases_holder_id")
            assert sampled == paging.estimate(s, Case.id, where), unit
            statements: list[str] = []
            listen = (s.get_bind(), "before_cursor_execute")
            seen = statements_into(statements)
            event.listen(*listen, seen)
            try:
                page = cases.inbox(s, actor=who, limit=5)
            finally:
                event.remove(*listen, seen)
            assert (page.total, page.exact) == (max(51, sampled[0]), False), unit
            assert 0.5 * held <= page.total <= 1.5 * held, unit
            if s.get_bind().dialect.name == "sqlite":  # (PostgreSQL asks its planner)
                assert any("INDEXED BY ix_cases_holder_id" in q for q in statements), statements


def statements_into(statements: list[str]) -> Any:
    """A before_cursor_execute listener that keeps each statement's SQL in STATEMENTS."""

    def seen(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements.append(sql)

    return seen
