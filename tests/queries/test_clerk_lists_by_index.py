"""A clerk's search by a phone's last digits, a clerk's inbox, a case's likely duplicates and a
street's tasks awaiting report: the same answers as their plain conditions select, page after
page, with their counts; on PostgreSQL each read from its own index (migration 0039_pg12), in
the list's order. Both databases (SQLite reads its own indexes: the answers are the same)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import Engine, bindparam, insert, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import seed_cases
from tests.conftest import T0, seeded
from tests.queries.conftest import actor
from tests.queries.lists import by_cursor
from tests.queries.test_counts_by_index import plan
from tests.queries.test_day_and_name_start import reads
from workflow.dispatch import duplicates
from workflow.queries import cases, search, tasks
from workflow.store import board_index, search_index
from workflow.store.models import Case, Task

CITY = 6_000
CLERK = actor("W-ZHL-01", "clerk")
STREET = actor("S-ZHL", "staff")


def fill_city(_engine: Engine, sessions: sessionmaker[Session]) -> None:
    """Six thousand cases; two in five applicants' phones end with 4321 (some with 54321), a
    few phones are 4321's neighbours (43210, 4322, 4321 alone); every ninth open case of
    W-ZHL-02 is held by W-ZHL-01 (held there, not its own); and 1,200 tasks of the cases, in every
    status, their ids in no order of their cases'."""
    with sessions.begin() as s:
        seed_cases(s, CITY, start=T0)
        ids = list(s.execute(select(Case.id).order_by(Case.id)).scalars())
        rnd = random.Random(4321)
        phones = {i: f"139{i:04d}{rnd.choice('56')}4321" for i in ids if rnd.random() < 0.4}
        phones.update({ids[1]: "1390000043210", ids[2]: "13900004322", ids[4]: "4321"})
        phones.update({i: "1390000098765" for i in ids[5:200:40]})  # a rare one
        table = Case.__table__
        s.execute(
            update(table)
            .where(table.c.id == bindparam("case"))
            .values(applicant_phone=bindparam("phone")),
            [{"case": i, "phone": p} for i, p in phones.items()],
        )
        others = s.execute(
            select(Case.id).where(Case.workstation == "W-ZHL-02", Case.holder.is_not(None))
        ).scalars()
        s.execute(update(table).where(table.c.id.in_(list(others)[::9])).values(holder="W-ZHL-01"))
        # Eighty of W-ZHL-01's cases of one item, opened five hours apart: likely duplicates.
        ws1 = list(
            s.execute(
                select(Case.id).where(Case.workstation == "W-ZHL-01").order_by(Case.id)
            ).scalars()
        )
        item = s.execute(select(Case.item).where(Case.id == ws1[0])).scalar_one()
        s.execute(
            update(table)
            .where(table.c.id == bindparam("case"))
            .values(item=item, created_at=bindparam("opened")),
            [
                {"case": i, "opened": T0 - dt.timedelta(hours=5 * k)}
                for k, i in enumerate(ws1[::2][:80])
            ],
        )
        rows = s.execute(select(Case.id, Case.street)).all()
        statuses = ("awaiting_report", "working", "reported", "awaiting_report")
        s.execute(
            insert(Task.__table__),
            [
                {
                    "id": 10_000 + (k * 7919) % 4000,
                    "case_id": case_id,
                    "round": 1,
                    "state": "dept_processing",
                    "commander": street,
                    "street": street,
                    "unit": "D-ZF",
                    "status": statuses[k % len(statuses)],
                    "version": 1,
                    "created_at": T0,
                    "updated_at": T0,
                }
                for k, (case_id, street) in enumerate(rows[::5])
            ],
        )


city_db, city = seeded("city", fill_city)


def test_a_phone_s_last_digits_find_the_phones_that_end_with_them(
    city: sessionmaker[Session],
) -> None:
    """4321 and 321 for a clerk (its workstation's) and a street office (its street's): every
    phone that ends with them (4321 alone too), none that does not (43210, 4322), and the case
    whose number the digits are (and the places that hold them: 南京路321号); page after page,
    deep by number, with the count."""
    with city() as s:
        rows = s.execute(
            select(Case.id, Case.applicant_phone, Case.workstation, Case.street, Case.description)
        ).all()
        for who, scope in (
            (CLERK, lambda ws, st: ws == "W-ZHL-01"),
            (STREET, lambda ws, st: st == "S-ZHL"),
        ):
            for digits in ("4321", "321"):
                expected = sorted(
                    (
                        i
                        for i, phone, ws, st, place in rows
                        if scope(ws, st)
                        and (phone.endswith(digits) or i == int(digits) or digits in place)
                    ),
                    reverse=True,
                )
                assert len(expected) > 30, (who, digits)
                f = search.Filters(q=digits)
                assert by_cursor(s, who, f, 29) == expected
                deep = cases.list_cases(s, actor=who, filters=f, offset=20, limit=10)
                assert [c.id for c in deep.items] == expected[20:30]
                assert (deep.total, deep.exact) == (len(expected), True)


def test_on_postgresql_a_clerk_s_phone_digits_and_name_start_are_read_from_their_index(
    city: sessionmaker[Session],
) -> None:
    with city() as s:  # (closed without a commit: the indexes set aside below come back)
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("PostgreSQL's indexes (SQLite reads its own)")
        s.execute(text("ANALYZE cases"))
        where = search.where(s, CLERK, search.Filters(q="王伟"))
        reads(
            s,
            select(Case.id).where(*where).order_by(Case.id.desc()).limit(26),
            search_index.WORKSTATION_NAME_START2_INDEX,
        )
        # A few thousand cases: a walk of the workstation's 120 cases is the cheapest here; the
        # spelling must match the index, whichever the planner prefers at this size (the
        # workstation's other indexes set aside, in this transaction).
        others = s.execute(
            text(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'cases' "
                "AND indexdef LIKE '%(workstation%' AND indexname <> :mine"
            ),
            {"mine": search_index.WORKSTATION_PHONE_INDEX},
        ).scalars()
        for name in list(others):
            s.execute(text(f"DROP INDEX {name}"))
        s.execute(text("RESET enable_bitmapscan"))
        s.execute(text("RESET enable_sort"))
        where = search.where(s, CLERK, search.Filters(q="98765"))
        how = plan(s, select(Case.id).where(*where).order_by(Case.id.desc()).limit(26))
        assert search_index.WORKSTATION_PHONE_INDEX in how, how
        assert "search_cases_phone_trgm" not in how, how


def test_a_clerk_s_inbox_is_what_its_workstation_holds_of_its_own_with_its_count(
    city: sessionmaker[Session],
) -> None:
    """view=inbox for a clerk: the cases W-ZHL-01 holds at W-ZHL-01 (not those of W-ZHL-02 it
    holds), newest first, page after page, deep by number, the exact count; on PostgreSQL
    counted and paged from the index by holder, workstation and id."""
    with city() as s:
        rows = s.execute(select(Case.id, Case.holder, Case.workstation)).all()
        expected = sorted(
            (i for i, h, ws in rows if h == "W-ZHL-01" and ws == "W-ZHL-01"), reverse=True
        )
        assert len(expected) > 40
        assert any(h == "W-ZHL-01" and ws == "W-ZHL-02" for _, h, ws in rows)
        f = search.Filters(view="inbox")
        assert by_cursor(s, CLERK, f, 23) == expected
        deep = cases.list_cases(s, actor=CLERK, filters=f, offset=30, limit=10)
        assert [c.id for c in deep.items] == expected[30:40]
        assert (deep.total, deep.exact) == (len(expected), True)
    with city.begin() as s:
        if s.get_bind().dialect.name == "postgresql":
            where = search.where(s, CLERK, f)
            reads(
                s,
                select(Case.id).where(*where).order_by(Case.id.desc()).limit(26),
                search_index.HELD_WORKSTATION_INDEX,
            )


def test_a_case_s_likely_duplicates_are_the_open_cases_of_its_item_there_newest_first(
    city: sessionmaker[Session],
) -> None:
    """similar(): the open cases (not merged) of the case's item at its workstation opened
    within the window of it, the newest first (seeded cases carry no place: all are near);
    on PostgreSQL read in that order from the index of the open cases by workstation, item and
    opening instant."""
    window = dt.timedelta(days=7)
    with city() as s:
        rows = s.execute(
            select(
                Case.id, Case.item, Case.workstation, Case.created_at, Case.closed_at, Case.state
            )
        ).all()
        checked = 0
        for case_id, item, ws, at, _closed, _state in rows[::7]:
            case = s.get(Case, case_id)
            assert case is not None
            if not duplicates._asks(case):
                continue
            expected = [
                i
                for _, i in sorted(
                    (
                        (o_at, i)
                        for i, o_item, o_ws, o_at, o_closed, _ in rows
                        if i != case_id
                        and o_item == item
                        and o_ws == ws
                        and o_closed is None
                        and at - window <= o_at <= at + window
                    ),
                    reverse=True,
                )
            ][:10]
            assert [c.id for c in duplicates.similar(s, case)] == expected
            checked += bool(expected)
        assert checked > 5
    with city.begin() as s:
        if s.get_bind().dialect.name == "postgresql":
            case = s.get(Case, rows[0][0])
            assert case is not None
            statement, _ = duplicates._candidates(s, case, Case.id)
            reads(s, statement.limit(50), search_index.SIMILAR_INDEX)


def test_a_street_s_tasks_awaiting_report_oldest_first(city: sessionmaker[Session]) -> None:
    """GET /tasks?status=awaiting_report for a street office: its cases' tasks awaiting report
    (not another street's, not those at work or reported), by id, page after page; on
    PostgreSQL read in that order from the index of the tasks awaiting report by street."""
    with city() as s:
        rows = s.execute(select(Task.id, Task.street, Task.status)).all()
        expected = sorted(
            i for i, st, status in rows if st == "S-ZHL" and status == "awaiting_report"
        )
        assert len(expected) > 20
        assert any(st != "S-ZHL" and status == "awaiting_report" for _, st, status in rows)
        seen: list[int] = []
        after = None
        while True:
            page = tasks.list_tasks(s, actor=STREET, status="awaiting_report", after=after, limit=7)
            seen += [t.id for t in page.items]
            if page.next is None:
                break
            after = page.next
        assert seen == expected
    with city.begin() as s:
        if s.get_bind().dialect.name == "postgresql":
            stmt = (
                select(Task.id)
                .where(tasks.scope(s, STREET), Task.status == "awaiting_report")
                .order_by(Task.id)
                .limit(26)
            )
            reads(s, stmt, board_index.STREET_AWAITING_INDEX)
