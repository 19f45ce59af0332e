"""Counts of lists: exact where counting is cheap (up to a cap), beyond it an estimate from a
sample of the table's ids, labelled as one (the API's `total_exact`, the console's 约)."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import Engine, and_, delete, func, insert, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import seed_cases
from tests.conftest import T0, seeded
from tests.queries.conftest import actor
from workflow.queries import cases, paging, search, trail
from workflow.store.models import Case, CaseUnit, TrailEvent

N = 12_000  # more than search.COUNT_CAP, and than paging.SAMPLE_ROWS twice
CLERK = actor("W-ZHL-01", "clerk")
DISTRICT = actor("X-SN", "admin")


def fill_city(_engine: Engine, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        seed_cases(s, N, start=T0)


city_db, city = seeded("city", fill_city)


def test_an_exact_count_up_to_the_cap_and_an_estimate_beyond(city: sessionmaker[Session]) -> None:
    with city() as s:
        assert paging.count_or_estimate(s, Case.id, [true()], 20_000) == (N, True)
        mine = [Case.workstation == "W-ZHL-01"]
        really = s.execute(select(func.count(Case.id)).where(*mine)).scalar_one()
        assert 0 < really < 1000
        assert paging.count_or_estimate(s, Case.id, mine, 1000) == (really, True)
        # Beyond the cap: not exact, more than the cap, and near the truth (a sample of 4,096
        # ids of 12,000: within a quarter here).
        n, exact = paging.count_or_estimate(s, Case.id, [true()], 100)
        assert not exact and 0.75 * N <= n <= 1.25 * N
        n, exact = paging.count_or_estimate(s, Case.id, mine, 10)
        assert not exact and n > 10 and 0.5 * really <= n <= 1.5 * really
        # A few matches the sample misses: still said to be more than the cap.
        few = [Case.id.in_([300, 301, 302, 303])]  # between the sampled runs
        assert paging.count_or_estimate(s, Case.id, few, 2) == (3, False)


def test_a_list_says_whether_its_count_is_exact(city: sessionmaker[Session]) -> None:
    with city() as s:
        small = cases.list_cases(s, actor=CLERK, limit=25)
        really = s.execute(
            select(func.count(Case.id)).where(Case.workstation == "W-ZHL-01")
        ).scalar_one()
        assert (small.total, small.exact) == (really, True)
        big = cases.list_cases(s, actor=DISTRICT, limit=25)
        assert not big.exact and big.total is not None and big.total > search.COUNT_CAP
        assert len(big.items) == 25
        found = search.find(s, actor=DISTRICT, filters=search.Filters(), limit=25)
        assert not found.exact and found.total > search.COUNT_CAP


def test_postgresql_estimates_from_its_statistics_once_analyzed(
    city: sessionmaker[Session], db_kind: str
) -> None:
    """Once the table is analyzed (autovacuum does it soon after it fills), PostgreSQL's planner
    gives the estimate: a department's set of cases is not hashed whole for a sample."""
    if db_kind != "postgresql":
        pytest.skip("PostgreSQL's statistics")
    with city() as s:
        s.connection().exec_driver_sql("ANALYZE cases")
        assert (s.execute(select(paging._statistics(Case.id))).scalar() or -1) >= 0
        mine = [Case.workstation == "W-ZHL-01"]
        really = s.execute(select(func.count(Case.id)).where(*mine)).scalar_one()
        n, exact = paging.count_or_estimate(s, Case.id, [true()], 100)
        assert not exact and 0.9 * N <= n <= 1.1 * N
        n, exact = paging.count_or_estimate(s, Case.id, mine, 10)
        assert not exact and n > 10 and 0.5 * really <= n <= 1.5 * really
        # The planner's guess for a handful of ids is a handful: still more than the cap.
        few = [Case.id.in_([300, 301, 302, 303])]
        n, exact = paging.count_or_estimate(s, Case.id, few, 2)
        assert not exact and 3 <= n <= 10
        # The list says so too (the API's total_exact, the console's 约).
        big = cases.list_cases(s, actor=DISTRICT, limit=25)
        assert not big.exact and big.total is not None and 0.9 * N <= big.total <= 1.1 * N


def test_an_estimate_read_through_an_index_counts_the_same_sample(
    city: sessionmaker[Session],
) -> None:
    """An estimate may read its runs of ids in an index whose leading columns the list fixes
    (the whistles a street blew: (street, id); a street's whistle queue: (street, state)),
    without the cases' rows: the same ids sampled, the same estimate."""
    with city() as s:
        street = [Case.street == "S-ZHL"]
        state = s.execute(
            select(Case.state)
            .where(*street)
            .group_by(Case.state)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
        for index, where in (
            ("ix_cases_street_id", street),
            ("ix_cases_street_state", [*street, Case.state == state]),
        ):
            really = s.execute(select(func.count(Case.id)).where(*where)).scalar_one()
            n, exact = paging.estimate(s, Case.id, where, sample_by=index)
            assert not exact and 0.5 * really <= n <= 1.5 * really
            assert (n, exact) == paging.estimate(s, Case.id, where)
            assert paging.count_or_estimate(s, Case.id, where, 10, sample_by=index) == (n, False)
            # A district's list (its scope is every case) of the same filter: the same estimate.
            assert paging.estimate(s, Case.id, [true(), *where], sample_by=index) == (n, exact)
        # A street's whistles (its scope, and its whistled cases: an index of them alone), of
        # one street and then another: each one's own estimate, the same as without the index.
        s.execute(update(Case).where(Case.id % 3 == 0).values(whistled=True))
        for unit in ("S-ZHL", "S-BDG"):
            whistles = [Case.street == unit, and_(Case.street == unit, search.WHISTLED)]
            really = s.execute(select(func.count(Case.id)).where(*whistles)).scalar_one()
            n, exact = paging.estimate(s, Case.id, whistles, sample_by="ix_cases_street_whistled")
            assert really > 100 and not exact and 0.5 * really <= n <= 1.5 * really, (unit, n)
            assert (n, exact) == paging.estimate(s, Case.id, whistles)
        s.rollback()
        # A state asked of the whole city, and then another (the sample's statement is built
        # once for the column, the state its parameter): each one's own estimate.
        for value in (state, "closed"):
            really = s.execute(select(func.count(Case.id)).where(Case.state == value)).scalar_one()
            n, exact = paging.estimate(s, Case.id, [true(), Case.state == value])
            assert really > 1000 and not exact and 0.5 * really <= n <= 1.5 * really, (
                value,
                n,
                really,
            )
        # Nothing asked of a case (a district's whole list): the ids alone are sampled (on
        # SQLite in an index of them), the same as when a condition every case meets is asked.
        assert paging.estimate(s, Case.id, [true()]) == paging.estimate(s, Case.id, [Case.id > 0])


def test_a_units_part_of_a_big_trail_is_estimated_from_a_sample_of_its_cases(
    city: sessionmaker[Session], db_kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A street's or a workstation's auditor, more cases than the cap: the count of their part
    of the trail is about the events of their cases (here one to five a case), estimated from a
    sample of their cases (SQLite) or by the planner (PostgreSQL, once analyzed), labelled as
    an estimate; the unit's own events (no case) counted exactly on top."""
    with city.begin() as s:
        ids = list(s.execute(select(Case.id).order_by(Case.id)).scalars())
        rows, seq = [], s.scalar(select(func.coalesce(func.max(TrailEvent.seq), 0)))
        many = random.Random(5)  # a case's events, whatever its unit
        for case_id in ids:
            for k in range(many.randint(1, 5)):
                seq += 1
                rows.append(_event(seq, case_id, "W-ZHL-01", "case.transition" if k else None))
        own = [_event(seq + k, None, "S-ZHL") for k in range(1, 4)]
        assert s.scalar(select(func.count()).where(TrailEvent.unit == "S-ZHL")) == 0
        s.execute(insert(TrailEvent), rows + own)
        # A department the trail handed every third case (case_units, as its trigger keeps it).
        s.execute(delete(CaseUnit).where(CaseUnit.unit == "D-ZF"))
        s.execute(insert(CaseUnit), [{"unit": "D-ZF", "case_id": i} for i in ids[::3]])
        if db_kind == "postgresql":
            for table in ("cases", "trail_events", "case_units"):
                s.connection().exec_driver_sql(f"ANALYZE {table}")
    cap = 100  # below a street's and a workstation's cases here
    monkeypatch.setattr(trail, "COUNT_CAP", cap)
    # (Their parts read in seq order, not from their cases: a part of fewer is counted whole.)
    monkeypatch.setattr(trail, "FEW_CASES", cap)
    with city() as s:
        for where, index, who in (
            (Case.street == "S-ZHL", "ix_cases_street_id", actor("S-ZHL", "auditor")),
            (
                Case.workstation == "W-ZHL-01",
                "ix_cases_workstation_id",
                actor("W-ZHL-01", "auditor"),
            ),
        ):
            really = s.scalar(
                select(func.count())
                .select_from(TrailEvent)
                .join(Case, Case.id == TrailEvent.case_id)
                .where(where)
            )
            n, exact = paging.estimate_through(
                s, Case.id, [where], TrailEvent.case_id, sample_by=index
            )
            # (The sample: within a quarter here; the planner's guess, within a half.)
            off = 0.25 if db_kind == "sqlite" else 0.5
            assert not exact and (1 - off) * really <= n <= (1 + off) * really, (who, n, really)
            assert s.scalar(select(func.count()).where(where)) > cap
            page = trail.list_events(s, actor=who, limit=10)
            mine = 3 if who.unit == "S-ZHL" else 0
            assert (page.total, page.exact) == (max(cap + 1, n + mine), False)
            assert len(page.items) == 10
            # Its transitions (an action asked of the events): about as many as its cases have.
            moved = TrailEvent.action == "case.transition"
            really = s.scalar(
                select(func.count())
                .select_from(TrailEvent)
                .join(Case, Case.id == TrailEvent.case_id)
                .where(where, moved)
            )
            assert really > cap
            n, exact = paging.estimate_through(
                s, Case.id, [where], TrailEvent.case_id, sample_by=index, also=[moved]
            )
            assert not exact and (1 - off) * really <= n <= (1 + off) * really, (who, n, really)
            page = trail.list_events(s, actor=who, limit=10, action="case.transition")
            assert (page.total, page.exact) == (max(cap + 1, n), False)
        # A department's part: a sample of the cases the trail handed it (its own events were
        # asked of a sample of the trail: 1.6 times too many or too few at a million cases on
        # SQLite, 30 times on PostgreSQL).
        who = actor("D-ZF", "auditor")
        for action in (None, "case.transition"):
            also = [TrailEvent.action == action] if action else []
            really = s.scalar(
                select(func.count())
                .select_from(TrailEvent)
                .where(trail.readable_part(s, who), *also)
            )
            assert really > cap
            n, exact = paging.estimate_through(
                s,
                CaseUnit.case_id,
                [CaseUnit.unit == "D-ZF"],
                TrailEvent.case_id,
                sample_by=None,
                also=also,
                ends=Case.id,
            )
            assert not exact and (1 - off) * really <= n <= (1 + off) * really, (action, n, really)
            page = trail.list_events(s, actor=who, limit=10, action=action)
            assert (page.total, page.exact) == (max(cap + 1, n), False)


def _event(
    seq: int, case_id: int | None, unit: str, action: str | None = None
) -> dict[str, object]:
    return {
        "seq": seq,
        "at": T0,
        "case_id": case_id,
        "actor": "clerk",
        "unit": unit,
        "action": action or ("case.opened" if case_id else "definitions.published"),
        "data": {},
        "prev_hash": "0" * 64,
        "hash": f"{seq:064x}",
    }


def test_a_page_chosen_by_number_deep_in_a_whole_list(city: sessionmaker[Session]) -> None:
    """A page chosen by its number far down a district's whole list (its ids skipped in an index
    of them on SQLite) holds the cases at that place, newest first."""
    with city() as s:
        ids = list(s.execute(select(Case.id).order_by(Case.id.desc())).scalars())
        found = search.find(s, actor=DISTRICT, filters=search.Filters(), offset=9_975, limit=25)
        assert [c.id for c in found.items] == ids[9_975:10_000]
        assert found.next is not None
