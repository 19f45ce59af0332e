"""A department's lists (the cases it holds or has held) read through case_units and the cases it
holds now, merged newest first: the same cases in the same order as their condition, page after
page (by cursor and by number), with the count or estimate the condition has, beyond the count's
cap too. On PostgreSQL the two indexes are read merged in id order (paging._in_order)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import seed_cases
from tests.conftest import T0, seeded
from tests.queries.conftest import actor
from tests.queries.test_lists3 import by_cursor, by_number, condition
from workflow.queries import cases, paging, search
from workflow.store.models import Case, CaseUnit

N = 12_000  # more than the count's cap, and than paging.SAMPLE_ROWS twice
DEPT = actor("D-ZF", "staff")
TZ_DAY = dt.timedelta(days=1)


def fill_city(engine: Engine, sessions: sessionmaker[Session]) -> None:
    """N cases; the department was handed every third (case_units, as the trail's trigger
    writes it), holds every seventh now (some of them handed before, some not)."""
    with sessions.begin() as s:
        seed_cases(s, N, start=T0)
        ids = list(s.execute(select(Case.id).order_by(Case.id)).scalars())
        s.execute(insert(CaseUnit), [{"unit": "D-ZF", "case_id": i} for i in ids if i % 3 == 0])
        s.execute(
            update(Case)
            .where(Case.id.in_([i for i in ids if i % 7 == 0]))
            .values(holder="D-ZF", state="processing")
        )
    if engine.dialect.name == "postgresql":
        with sessions.begin() as s:
            s.connection().exec_driver_sql("ANALYZE cases")
            s.connection().exec_driver_sql("ANALYZE case_units")


city_db, city = seeded("city", fill_city)


def test_a_departments_list_is_its_condition_page_by_page_with_its_estimate(
    city: sessionmaker[Session],
) -> None:
    with city() as s:
        start = s.execute(
            select(Case.created_at).order_by(Case.id).offset(N // 2).limit(1)
        ).scalar_one()
        day = start.date()
        checked = 0
        for f in (
            search.Filters(),
            search.Filters(state="processing"),
            search.Filters(state="closed"),
            search.Filters(view="handled"),
            search.Filters(opened_from=day, opened_until=day + 3 * TZ_DAY),
        ):
            expected = condition(s, DEPT, f)
            assert by_cursor(s, DEPT, f, 250) == expected, f
            assert by_number(s, DEPT, f, 500) == expected, f
            page = cases.list_cases(s, actor=DEPT, filters=f, limit=25)
            assert [c.id for c in page.items] == expected[:25]
            counted = paging.count_or_estimate(
                s, Case.id, search.where(s, DEPT, f), search.COUNT_CAP
            )
            assert (page.total, page.exact) == counted, f
            found = search.find(s, actor=DEPT, filters=f, limit=25)
            assert (found.total, found.exact) == counted, f
            checked += len(expected) > search.COUNT_CAP
        assert checked >= 2  # the list itself and the handled view: estimated


def test_a_departments_page_after_a_cursor_deep_in_its_list(city: sessionmaker[Session]) -> None:
    with city() as s:
        expected = condition(s, DEPT, search.Filters())
        deep = expected[len(expected) - 40]
        page = cases.list_cases(s, actor=DEPT, after=deep, limit=25)
        assert [c.id for c in page.items] == expected[len(expected) - 39 : len(expected) - 14]
        last = cases.list_cases(s, actor=DEPT, after=expected[-3], limit=25)
        assert [c.id for c in last.items] == expected[-2:] and last.next is None
