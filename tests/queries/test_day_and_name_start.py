"""A city's cases opened in a period and a search by a name's first two characters, read on
PostgreSQL from their own indexes (migration 0037_pg11: by the day of opening in the city's zone,
by the name's first two characters, each then id): the same cases in the same order as the
period's or the name's plain condition, page after page by cursor and by number, the same count
and the same estimate; and the planner's knowledge of which unit holds a workstation's cases.
Both databases (SQLite reads its own indexes: the answers are the same)."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, and_, bindparam, event, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import seed_cases
from tests.conftest import T0, seeded
from tests.queries.conftest import actor
from tests.queries.lists import by_cursor
from tests.queries.test_counts_by_index import plan
from workflow.actors import Actor
from workflow.queries import cases, paging, search
from workflow.queries.scope import case_filter
from workflow.store.models import Case

CITY = 12_000  # more than the count's cap, and than paging.SAMPLE_ROWS twice
DISTRICT = actor("X-SN", "admin")


def fill_the_city(_engine: Engine, sessions: sessionmaker[Session]) -> None:
    """Twelve thousand cases opened over twenty days, their ids in no order of their opening
    (an import); every fifth applicant's name begins with 王伟, and a few names are 王伟's
    neighbours in the names' order (王, 王伟 and the last code point, 王伟 itself)."""
    with sessions.begin() as s:
        seed_cases(s, CITY, start=T0)
        ids = list(s.execute(select(Case.id).order_by(Case.id)).scalars())
        span = 20 * 24 * 60
        table = Case.__table__
        names = {i: "王伟" + "芳明"[i % 2] for i in ids[::5]}
        names.update(
            {ids[1]: "王", ids[3]: "王伟\U0010ffff", ids[6]: "王伟", ids[8]: "王伟\U0010ffff明"}
        )
        s.execute(
            update(table)
            .where(table.c.id == bindparam("case"))
            .values(created_at=bindparam("opened")),
            [{"case": i, "opened": T0 - dt.timedelta(minutes=(i * 7919) % span)} for i in ids],
        )
        s.execute(
            update(table)
            .where(table.c.id == bindparam("case"))
            .values(applicant_name=bindparam("name")),
            [{"case": i, "name": n} for i, n in names.items()],
        )


city_db, city = seeded("city", fill_the_city)


def same_count(s: Session, who: Actor, f: search.Filters, plain: list[Any], n: int) -> None:
    """The list's count is the plain condition's: exact to the cap, its estimate beyond."""
    page = cases.list_cases(s, actor=who, filters=f, limit=5)
    assert (page.total, page.exact) == paging.count_or_estimate(
        s, Case.id, plain, search.COUNT_CAP
    ), f
    if n <= search.COUNT_CAP:
        assert (page.total, page.exact) == (n, True)
    else:
        assert not page.exact


def reads(s: Session, stmt: Any, index: str) -> None:
    """PostgreSQL reads STMT from INDEX, in its order (no sort of what it found), its other
    ways forced off (a few thousand cases fit in a few pages: it would read them all)."""
    s.execute(text("SET LOCAL enable_seqscan = off"))
    s.execute(text("SET LOCAL enable_bitmapscan = off"))
    s.execute(text("SET LOCAL enable_sort = off"))
    how = plan(s, stmt)
    assert index in how, how
    assert "Sort  " not in how and "Sort (" not in how, how


def test_a_period_s_cases_are_those_it_selects_read_day_by_day(
    city: sessionmaker[Session],
) -> None:
    """A day, a week, sixteen and seventeen days (read from the range of ids opened in it, as
    is a period asked in another zone, or by a street): the cases opened in it by the city's
    clock, newest first, page after page, deep by number, the period's count."""
    today = T0.astimezone(ZoneInfo("Asia/Shanghai")).date()
    street = actor("S-ZHL", "staff")
    with city() as s:
        rows = s.execute(select(Case.id, Case.created_at, Case.street)).all()
        for days_back, days, tz, who in (
            (3, 1, "Asia/Shanghai", DISTRICT),
            (10, 7, "Asia/Shanghai", DISTRICT),
            (10, 7, "Asia/Shanghai", actor("X-SN", "auditor")),
            (17, 16, "Asia/Shanghai", DISTRICT),
            (18, 17, "Asia/Shanghai", DISTRICT),
            (10, 7, "UTC", DISTRICT),
            (10, 7, "Asia/Shanghai", street),
        ):
            start = today - dt.timedelta(days=days_back)
            until = start + dt.timedelta(days=days - 1)
            f = search.Filters(opened_from=start, opened_until=until, tz=tz)
            zone = ZoneInfo(tz)
            expected = sorted(
                (
                    i
                    for i, at, st in rows
                    if start <= at.astimezone(zone).date() <= until
                    and (who is not street or st == "S-ZHL")
                ),
                reverse=True,
            )
            assert len(expected) > 100, f
            assert by_cursor(s, who, f, 97) == expected, f
            deep = cases.list_cases(s, actor=who, filters=f, offset=400, limit=30)
            assert [c.id for c in deep.items] == expected[400:430]
            plain = [
                case_filter(s, who),
                Case.created_at >= dt.datetime.combine(start, dt.time(), zone),
                Case.created_at
                < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), zone),
            ]
            same_count(s, who, f, plain, len(expected))


def test_on_postgresql_a_period_is_read_from_the_index_by_day_of_opening(
    city: sessionmaker[Session],
) -> None:
    today = T0.astimezone(ZoneInfo("Asia/Shanghai")).date()
    f = search.Filters(
        opened_from=today - dt.timedelta(days=9), opened_until=today - dt.timedelta(days=3)
    )
    with city.begin() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL's index (SQLite reads its own, by the UTC day)")
        clauses, days, counted = search.branches(s, DISTRICT, f)
        assert days is not None and len(days) == 7  # a branch a day
        # No range of ids read first (every entry of the period), and the page merges the days.
        assert not any(c._annotations.get("narrowing") for c in [*clauses, *(counted or [])])
        page = paging._in_order(s, Case, days, clauses, descending=True, each=26).limit(26)
        reads(s, page, search.OPENED_DAY_INDEX)
        # Another zone than the index's: the period's range of ids, as before.
        utc = search.Filters(opened_from=f.opened_from, opened_until=f.opened_until, tz="UTC")
        clauses, days, _ = search.branches(s, DISTRICT, utc)
        assert days is None
        assert any(c._annotations.get("narrowing") for c in clauses)


def test_a_name_s_first_two_characters_find_the_names_that_begin_with_them(
    city: sessionmaker[Session],
) -> None:
    """王伟 for the district (2,400 names: beyond the cap, the same estimate), a street office and
    a clerk: every name beginning with 王伟 (王伟 itself), none that does not (王), none whose
    third character is the last code point (the plain condition's range leaves them out)."""
    with city() as s:
        rows = s.execute(select(Case.id, Case.applicant_name, Case.street, Case.workstation)).all()
        name: Any = Case.applicant_name
        if s.get_bind().dialect.name == "postgresql":
            name = name.collate("C")
        starts = and_(name >= "王伟", name < "王伟\U0010ffff")
        for who, scope in (
            (DISTRICT, lambda st, ws: True),
            (actor("S-ZHL", "staff"), lambda st, ws: st == "S-ZHL"),
            (actor("W-ZHL-01", "clerk"), lambda st, ws: ws == "W-ZHL-01"),
        ):
            expected = sorted(
                (
                    i
                    for i, n, st, ws in rows
                    if n.startswith("王伟") and not n.startswith("王伟\U0010ffff") and scope(st, ws)
                ),
                reverse=True,
            )
            f = search.Filters(q="王伟")
            assert len(expected) > 30
            assert by_cursor(s, who, f, 97) == expected
            deep = cases.list_cases(s, actor=who, filters=f, offset=20, limit=10)
            assert [c.id for c in deep.items] == expected[20:30]
            same_count(s, who, f, [case_filter(s, who), starts], len(expected))
        assert len([i for i, n, *_ in rows if n.startswith("王伟")]) > search.COUNT_CAP


def test_on_postgresql_a_name_s_first_two_characters_are_read_from_their_index(
    city: sessionmaker[Session],
) -> None:
    with city.begin() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL's index (SQLite reads its own)")
        where = search.where(s, DISTRICT, search.Filters(q="王伟"))
        newest = select(Case.id).where(*where).order_by(Case.id.desc()).limit(26)
        reads(s, newest, search.search_index.NAME_START2_INDEX)
        # A clerk's: from the index by workstation, then the name's first two characters and id
        # (0039_pg12), not the city's.
        clerk = search.where(s, actor("W-ZHL-01", "clerk"), search.Filters(q="王伟"))
        newest = select(Case.id).where(*clerk).order_by(Case.id.desc()).limit(26)
        reads(s, newest, search.search_index.WORKSTATION_NAME_START2_INDEX)


def test_postgresql_knows_a_workstation_holds_its_own_cases(
    city: sessionmaker[Session],
) -> None:
    """The planner's estimate of the cases a workstation holds among its own (a clerk's inbox) is
    about their number (statistics of holder and workstation together, 0037_pg11), not the
    product of each one's share (a few): it then reads the inbox newest first from the index of
    what a unit holds instead of sorting every case the workstation holds."""
    with city.begin() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL's planner")
        s.execute(text("ANALYZE cases"))
        held = and_(Case.workstation == "W-ZHL-01", Case.holder == "W-ZHL-01")
        n = len(s.execute(select(Case.id).where(held)).all())
        assert n > 50
        about = paging.planned_rows(s, select(Case.id).where(held))
        assert n / 2 <= about <= 2 * n, (about, n)


def test_a_units_inbox_is_what_it_holds_the_most_urgent_first_read_in_that_order(
    city: sessionmaker[Session],
) -> None:
    """A clerk's and a street office's inbox (the console's), page after page by cursor and
    deep by number: the cases the unit holds, critical then urgent then the others, the nearest
    stage limit first (none last), then by id; on PostgreSQL read in that order from the index
    of what a unit holds (0037_pg11), no sort of everything it holds; on SQLite too, from its
    own (0038_lists12), the count of a clerk's from that index's entries alone."""
    rank = {"critical": 0, "urgent": 1}
    never = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
    with city.begin() as s:
        rows = s.execute(
            select(Case.id, Case.holder, Case.urgency, Case.stage_due_at, Case.workstation)
        ).all()
        for who in (actor("W-ZHL-01", "clerk"), actor("W-ZHL-02", "clerk")):
            expected = [
                i
                for _, _, i in sorted(
                    (rank.get(u, 2), due or never, i)
                    for i, holder, u, due, ws in rows
                    if holder == who.unit and ws == who.unit
                )
            ]
            assert len(expected) > 50
            seen: list[int] = []
            after = None
            while True:
                page = cases.inbox(s, actor=who, after=after, limit=13)
                seen += [c.id for c in page.items]
                if page.next is None:
                    break
                after = page.next
            assert seen == expected
            deep = cases.inbox(s, actor=who, offset=30, limit=10)
            assert [c.id for c in deep.items] == expected[30:40]
            assert (deep.total, deep.exact) == (len(expected), True)
        if s.get_bind().dialect.name == "postgresql":
            clerk = actor("W-ZHL-01", "clerk")
            where = search.where(s, clerk, search.Filters(view="inbox"))
            order = [e.desc() if d else e for e, d in search.MOST_URGENT_FIRST]
            reads(
                s,
                select(Case.id).where(*where).order_by(*order).limit(26),
                search.search_index.INBOX_INDEX,
            )
        else:
            sqlite_reads_the_inbox_in_order(s, actor("W-ZHL-01", "clerk"))


def sqlite_reads_the_inbox_in_order(s: Session, who: Actor) -> None:
    """SQLite's plans of WHO's inbox as its statements are run (bound values and all): the count
    reads the inbox index alone, the page's ids are read from it in order (the temporary B-tree
    left sorts the page's 26 rows, outside the subquery)."""
    ran: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        ran.append((statement, parameters))

    engine = s.get_bind()
    event.listen(engine, "before_cursor_execute", keep)
    try:
        cases.inbox(s, actor=who, limit=25)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    index = search.search_index.INBOX_INDEX
    plans = []
    for statement, parameters in ran:
        if "FROM cases" in statement:
            rows = s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.append({r[0]: (r[1], r[3]) for r in rows})
    count, rows = plans
    assert f"USING COVERING INDEX {index}" in str(count), count
    (subquery,) = [i for i, (_, d) in rows.items() if "SUBQUERY" in d]
    inside = [d for parent, d in rows.values() if parent == subquery]
    assert any(f"USING INDEX {index}" in d for d in inside), rows
    assert not any("TEMP B-TREE" in d for d in inside), rows
