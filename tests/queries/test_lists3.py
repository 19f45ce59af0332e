"""Lists read through an index in their own order give the same cases in the same order as their
condition: a text search read through the full-text index (SQLite: a UNION of the ways a word
matches, merged newest first) and the cases opened in a period read within the range of ids
opened in it, for every caller of a demo month, page after page (by cursor and by number)
without a case twice or left out."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, bindparam, event, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import seed_cases
from tests.conftest import T0, seeded
from tests.queries.conftest import actor
from tests.queries.lists import by_cursor, condition
from workflow import demo, privacy
from workflow.actors import Actor
from workflow.queries import cases, paging, search, trail
from workflow.store.models import Case, CaseUnit, TrailEvent

NOW = T0
TZ = ZoneInfo("Asia/Shanghai")
CALLERS = [
    actor("X-SN", "admin"),
    actor("S-ZHL", "staff"),
    actor("W-ZHL-01", "clerk"),
    actor("D-ZF", "staff"),
    actor("S-ZHL", "auditor"),
    actor("X-SN", "auditor"),
]


def fill_month(_engine: Engine, sessions: sessionmaker[Session]) -> None:
    """A month of demo cases: every item and route, sent back, whistled, dispatched, merged."""
    demo.generate_cases(sessions, now=NOW, days=30, per_workstation=3)


month_db, month = seeded("month", fill_month)


def by_number(s: Session, who: Actor, f: search.Filters, per_page: int) -> list[int]:
    seen: list[int] = []
    for number in range(1000):
        page = cases.list_cases(s, actor=who, filters=f, offset=number * per_page, limit=per_page)
        found = search.find(s, actor=who, filters=f, offset=number * per_page, limit=per_page)
        assert [c.id for c in found.items] == [c.id for c in page.items]
        seen += [c.id for c in page.items]
        if len(page.items) < per_page:
            return seen
    raise AssertionError("no last page")


def words(s: Session) -> list[str]:
    """What a user types: parts of addresses and descriptions, a name, a phone's tail, a case
    number, an item's name (which is also in places), a word found nowhere."""
    rows = s.execute(
        select(Case.id, Case.address, Case.description, Case.applicant_name, Case.applicant_phone)
        .order_by(Case.id)
        .limit(400)
    ).all()
    found: list[str] = ["路灯", "占道经营", "出租房屋", "海口路", "没有这样的地方"]
    for case_id, address, description, name, phone in rows[::57]:
        place = address or description or ""
        found += [place[:3], place[:4], place[2:6], name, name[:1], phone[-4:], str(case_id)]
        found.append(f"#{case_id}")
    return sorted({w for w in found if w.strip()})


def test_a_text_search_lists_what_its_condition_selects_page_by_page(
    month: sessionmaker[Session],
) -> None:
    with month() as s:
        qs = words(s)
        checked = 0
        for who in CALLERS:
            for q in qs:
                for f in (search.Filters(q=q), search.Filters(q=q, state="closed")):
                    expected = condition(s, who, f)
                    assert by_cursor(s, who, f, 7) == expected, (who, q)
                    assert by_number(s, who, f, 7) == expected, (who, q)
                    page = cases.list_cases(s, actor=who, filters=f, limit=5)
                    assert (page.total, page.exact) == (len(expected), True)
                    checked += bool(expected)
        assert checked > 50  # most words find something for most callers


def in_period(s: Session, start: dt.date, until: dt.date) -> list[int]:
    """The cases opened from START to UNTIL (inclusive, local dates), by each case's instant."""
    rows = s.execute(select(Case.id, Case.created_at)).all()
    return sorted((i for i, at in rows if start <= at.astimezone(TZ).date() <= until), reverse=True)


def test_the_cases_opened_in_a_period_are_the_same_whatever_order_their_ids_are_in(
    month: sessionmaker[Session],
) -> None:
    with month.begin() as s:
        lo, hi = s.execute(select(func.min(Case.id), func.max(Case.id))).one()
        # An import: the oldest case dated in the last week, the newest in the first.
        last_week = NOW - dt.timedelta(days=3)
        first_week = NOW - dt.timedelta(days=27)
        s.execute(update(Case).where(Case.id == lo).values(created_at=last_week))
        s.execute(update(Case).where(Case.id == hi).values(created_at=first_week))
    district = actor("X-SN", "admin")
    today = NOW.astimezone(TZ).date()
    periods = [
        (today - dt.timedelta(days=6), today),
        (today - dt.timedelta(days=29), today - dt.timedelta(days=22)),
        (today - dt.timedelta(days=15), today - dt.timedelta(days=15)),
        (today + dt.timedelta(days=1), today + dt.timedelta(days=9)),  # nothing opened yet
    ]
    with month() as s:
        for start, until in periods:
            expected = in_period(s, start, until)
            for who in CALLERS:
                f = search.Filters(opened_from=start, opened_until=until)
                mine = [i for i in condition(s, who, f) if i in set(expected)]
                assert by_cursor(s, who, f, 9) == mine == condition(s, who, f)
                assert by_number(s, who, f, 9) == mine
            if start <= last_week.astimezone(TZ).date() <= until:
                assert lo in expected
            if start <= first_week.astimezone(TZ).date() <= until:
                assert hi in expected
        only_from = search.Filters(opened_from=today - dt.timedelta(days=2))
        assert by_cursor(s, district, only_from, 50) == in_period(s, only_from.opened_from, today)  # type: ignore[arg-type]


CITY = 12_000  # more than the count's cap, and than paging.SAMPLE_ROWS twice


def test_a_text_search_beyond_the_cap_estimates_what_its_condition_estimates(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        seed_cases(s, CITY, start=T0)
    district = actor("X-SN", "admin")
    with sessions() as s:
        for q in ("路", "海口路", "占道经营", "王"):
            f = search.Filters(q=q)
            page = cases.list_cases(s, actor=district, filters=f, limit=25)
            where = search.where(s, district, f)
            assert (page.total, page.exact) == paging.count_or_estimate(
                s, Case.id, where, search.COUNT_CAP
            )
            assert [c.id for c in page.items] == condition(s, district, f)[:25]


def test_a_units_part_of_the_trail_counts_what_its_condition_counts(
    month: sessionmaker[Session],
) -> None:
    """A street's, a workstation's and a department's auditor: the count of their part of the
    trail (found from their cases) is the count of the events their part's condition selects,
    exact up to the cap, the same estimate beyond it; with the list's filters too."""
    with month() as s:
        checked = []
        for who in (
            actor("S-ZHL", "auditor"),
            actor("W-ZHL-01", "auditor"),
            actor("D-ZF", "auditor"),
        ):
            for kw in (
                {},
                {"action": "case.opened"},
                {"unit": "D-ZF"},
                {"since": NOW - dt.timedelta(days=3)},
            ):
                page = trail.list_events(s, actor=who, limit=10, **kw)  # type: ignore[arg-type]
                where = [trail.readable_part(s, who)]
                if "action" in kw:
                    where.append(TrailEvent.action == kw["action"])
                if "unit" in kw:
                    where.append(
                        or_(
                            TrailEvent.unit == kw["unit"],
                            TrailEvent.from_holder == kw["unit"],
                            TrailEvent.to_holder == kw["unit"],
                        )
                    )
                if "since" in kw:
                    where.append(TrailEvent.at >= kw["since"])
                expected = paging.count_or_estimate(s, TrailEvent.seq, where, search.COUNT_CAP)
                assert (page.total, page.exact) == expected, (who, kw)
                checked.append(expected)
        assert any(exact for _, exact in checked) and any(n > 0 for n, _ in checked), checked


def test_a_streets_trail_with_more_cases_than_the_cap_is_counted_from_its_cases_alone(
    month: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A street's or a workstation's auditor with more cases than the count's cap, no filter:
    the list's count is the same estimate as before, found without counting a thousand events
    and their cases (each case has its opening event: more cases than the cap are more events);
    with a filter, or with fewer cases than the cap, the events are counted as before."""
    cap = 2  # a workstation opens three cases in this month
    monkeypatch.setattr(trail, "COUNT_CAP", cap)
    monkeypatch.setattr(trail, "FEW_CASES", 0)  # (fewer are counted whole from their cases)
    ran: list[str] = []

    def keep(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        ran.append(statement)

    with month() as s:
        engine = s.get_bind()
        for who in (actor("S-ZHL", "auditor"), actor("W-ZHL-01", "auditor")):
            assert s.scalar(select(func.count()).where(privacy.trail_part_cases(s, who))) > cap
            for kw, counts_events in (({}, False), ({"action": "case.opened"}, True)):
                ran.clear()
                event.listen(engine, "before_cursor_execute", keep)
                try:
                    page = trail.list_events(s, actor=who, limit=3, **kw)  # type: ignore[arg-type]
                finally:
                    event.remove(engine, "before_cursor_execute", keep)
                where = [trail.readable_part(s, who)]
                if kw:
                    where.append(TrailEvent.action == kw["action"])
                expected = paging.count_or_estimate(s, TrailEvent.seq, where, cap)
                # (A month's trail is small enough for the estimate to count it all: exact.)
                assert (page.total, page.exact) == expected, (who, kw)
                assert page.total > cap
                # The events counted to the cap, each joined to its case (an estimate counts
                # a unit's events whole, when its cases are few enough to count).
                joined = [q for q in ran if "FROM trail_events JOIN cases" in q and "LIMIT" in q]
                assert bool(joined) == counts_events, (who, kw, ran)


def test_a_units_lists_of_what_it_holds_or_held_are_what_their_condition_selects(
    month: sessionmaker[Session],
) -> None:
    """A department's and a committee's lists (their scope read as the ids case_units hands
    over and those of the cases they hold, merged newest first), with each view and filter."""
    with month() as s:
        held = [u for (u,) in s.execute(select(CaseUnit.unit).distinct()).all()]
        staff = [actor(u, "staff") for u in sorted(held) if u.startswith(("D-", "C-", "A-"))]
        assert len(staff) >= 3
        for who in staff:
            for f in (
                search.Filters(),
                search.Filters(state="closed"),
                search.Filters(view="handled"),
                search.Filters(view="inbox"),
                search.Filters(light="red"),
            ):
                expected = condition(s, who, f)
                assert by_cursor(s, who, f, 4) == expected, (who, f)
                assert by_number(s, who, f, 4) == expected, (who, f)
                page = cases.list_cases(s, actor=who, filters=f, limit=3)
                assert (page.total, page.exact) == (len(expected), True)


def test_a_city_s_cases_opened_in_a_period_read_day_by_day_are_what_their_condition_selects(
    sessions: sessionmaker[Session],
) -> None:
    """Twelve thousand cases opened over twenty days, their ids in no order of their opening
    (an import): the cases opened in a period (a day, a week, two weeks; SQLite reads them day
    by day, search.opened_days) are what the period's condition selects, page after page by
    cursor and by number; the count is the condition's (exact to the cap, the same estimate
    beyond it), the days beyond the period's ends (a local day spans two UTC days) left out."""
    with sessions.begin() as s:
        seed_cases(s, CITY, start=T0)
        ids = list(s.execute(select(Case.id).order_by(Case.id)).scalars())
        span = 20 * 24 * 60
        table = Case.__table__
        s.execute(
            update(table)
            .where(table.c.id == bindparam("case"))
            .values(created_at=bindparam("opened")),
            [{"case": i, "opened": T0 - dt.timedelta(minutes=(i * 7919) % span)} for i in ids],
        )
    district = actor("X-SN", "admin")
    today = T0.astimezone(TZ).date()
    with sessions() as s:
        for days_back, days in ((3, 1), (10, 7), (16, 14), (19, 17)):
            start = today - dt.timedelta(days=days_back)
            f = search.Filters(opened_from=start, opened_until=start + dt.timedelta(days=days - 1))
            expected = condition(s, district, f)
            assert expected == in_period(s, f.opened_from, f.opened_until)  # type: ignore[arg-type]
            assert by_cursor(s, district, f, 97)[:500] == expected[:500]
            top = [c.id for c in cases.list_cases(s, actor=district, filters=f, limit=50).items]
            assert top == expected[:50]
            deep = cases.list_cases(s, actor=district, filters=f, offset=400, limit=30)
            assert [c.id for c in deep.items] == expected[400:430]
            page = cases.list_cases(s, actor=district, filters=f, limit=5)
            where = search.where(s, district, f)
            assert (page.total, page.exact) == paging.count_or_estimate(
                s, Case.id, where, search.COUNT_CAP
            ), f
            if len(expected) > search.COUNT_CAP:
                assert not page.exact


@pytest.mark.parametrize("few", [0, 1_000_000], ids=["from_the_cases", "from_the_actions"])
def test_an_auditors_trail_of_an_action_is_read_in_order_from_the_actions_index(
    month: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, db_kind: str, few: int
) -> None:
    """An auditor's trail filtered by an action (the district's, a street's, a workstation's,
    a department's): page after page by cursor, every event of their part with that action in
    seq order, once each; its count what its condition counts, whether an action's events are
    counted from the actions' index (few of them) or from the unit's cases. On SQLite the page
    is read from the index of the actions by seq, never sorted (a street's opened cases at a
    million were sorted whole, or every event of the trail was read for a rare action)."""
    monkeypatch.setattr(trail, "FEW_OF_AN_ACTION", few)
    # Every unit's part read in seq order (a part of few cases is read from its cases:
    # test_trail_of_few_cases.py).
    monkeypatch.setattr(trail, "FEW_CASES", 0)
    ran: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        ran.append((statement, parameters))

    with month() as s:
        engine = s.get_bind()
        actions = dict(
            s.execute(select(TrailEvent.action, func.count()).group_by(TrailEvent.action)).all()
        )
        rare = min(actions, key=lambda a: (actions[a], a))
        found: dict[tuple[str | None, str], int] = {}
        for who in (
            actor("X-SN", "auditor"),
            actor("S-ZHL", "auditor"),
            actor("W-ZHL-01", "auditor"),
            actor("D-ZF", "auditor"),
        ):
            for action in ("case.opened", "case.transition", rare):
                where = [trail.readable_part(s, who), TrailEvent.action == action]
                expected = list(
                    s.execute(select(TrailEvent.seq).where(*where).order_by(TrailEvent.seq))
                    .scalars()
                    .all()
                )
                seen: list[int] = []
                after = None
                ran.clear()
                event.listen(engine, "before_cursor_execute", keep)
                try:
                    for _ in range(1000):
                        page = trail.list_events(s, actor=who, action=action, after=after, limit=7)
                        seen += [e.seq for e in page.items]
                        if len(page.items) < 7:
                            break
                        after = page.items[-1].seq
                finally:
                    event.remove(engine, "before_cursor_execute", keep)
                assert seen == expected, (who, action)
                counted = paging.count_or_estimate(s, TrailEvent.seq, where, search.COUNT_CAP)
                assert (page.total, page.exact) == counted, (who, action)
                if db_kind == "sqlite":
                    pages = [r for r in ran if r[0].lstrip().startswith("SELECT trail_events.seq,")]
                    assert pages
                    raw = s.connection().connection.driver_connection
                    for statement, parameters in pages:
                        plan = " / ".join(
                            r[3] for r in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                        )
                        assert "ix_trail_events_action_seq" in plan, plan
                        assert "TEMP B-TREE" not in plan, plan
                found[(who.unit, action)] = len(expected)
        # The district's and the street's opened cases fill pages, the workstation has some,
        # and the district has the rare action's events.
        assert found[("X-SN", "case.opened")] > 7 and found[("S-ZHL", "case.opened")] > 7, found
        assert found[("W-ZHL-01", "case.opened")] > 0, found
        assert found[("X-SN", rare)] > 0, found
