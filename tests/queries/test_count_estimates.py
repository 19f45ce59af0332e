"""Counts of lists: exact where counting is cheap (up to a cap), beyond it an estimate from a
sample of the table's ids, labelled as one (the API's `total_exact`, the console's 约)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, true
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import seed_cases
from tests.conftest import T0
from tests.queries.conftest import actor
from workflow.queries import cases, paging, search
from workflow.store.models import Case

N = 12_000  # more than search.COUNT_CAP, and than paging.SAMPLE_ROWS twice
CLERK = actor("W-ZHL-01", "clerk")
DISTRICT = actor("X-SN", "admin")


@pytest.fixture
def city(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions.begin() as s:
        seed_cases(s, N, start=T0)
    return sessions


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
        # Nothing asked of a case (a district's whole list): the ids alone are sampled (on
        # SQLite in an index of them), the same as when a condition every case meets is asked.
        assert paging.estimate(s, Case.id, [true()]) == paging.estimate(s, Case.id, [Case.id > 0])


def test_a_page_chosen_by_number_deep_in_a_whole_list(city: sessionmaker[Session]) -> None:
    """A page chosen by its number far down a district's whole list (its ids skipped in an index
    of them on SQLite) holds the cases at that place, newest first."""
    with city() as s:
        ids = list(s.execute(select(Case.id).order_by(Case.id.desc())).scalars())
        found = search.find(s, actor=DISTRICT, filters=search.Filters(), offset=9_975, limit=25)
        assert [c.id for c in found.items] == ids[9_975:10_000]
        assert found.next is not None
