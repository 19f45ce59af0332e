"""The search at scale: 25,000 cases seeded by bulk SQL (the search index kept by the database
as for any write), then found by each key through the query layer and the console's page, in the
page's normal flow. No timing is asserted here: bench/search.py measures it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import seed_cases
from tests.conftest import T0, open_case_as
from tests.console.conftest import Browserless
from tests.queries.conftest import actor
from workflow.queries import cases, search
from workflow.store.models import Case

pytestmark = pytest.mark.slow
# More than the count's cap 25 times, and paging's sample six times: the estimate's ways are
# those of a city's (bench/search.py measures a million; CI's time is bounded).
N = 25_000
CLERK = actor("W-ZHL-01", "clerk")
DISTRICT = actor("X-SN", "admin")


def test_a_search_among_25000_cases(
    sessions: sessionmaker[Session], sign_in_client: Callable[..., Browserless]
) -> None:
    with sessions.begin() as s:
        seed_cases(s, N, start=T0)
        mine = open_case_as(
            s,
            applicant_name="欧阳小雨",
            applicant_phone="13988776655",
            description="海口路 999 号 路灯不亮",
        ).id
        short = open_case_as(s, applicant_name="闵五", applicant_phone="13900001111").id
    with sessions() as s:
        assert s.execute(select(func.count(Case.id))).scalar_one() == N + 2

        def ids(who: object, **f: object) -> list[int]:
            page = cases.list_cases(s, actor=who, filters=search.Filters(**f), limit=25)  # type: ignore[arg-type]
            return [c.id for c in page.items]

        assert ids(CLERK, q="欧阳小雨") == [mine]
        assert ids(CLERK, q="8776655") == [mine]
        assert ids(CLERK, q=f"#{mine}") == [mine]
        assert ids(CLERK, q="海口路 999") == [mine]
        assert ids(CLERK, q="闵五") == [short]
        assert mine in ids(DISTRICT, q="欧阳小雨")
        # A common surname in the whole district: a page of them, newest first, counted up to
        # the cap and then estimated.
        wang = search.find(s, actor=DISTRICT, filters=search.Filters(q="王"), limit=25)
        assert len(wang.items) == 25
        assert all(c.applicant_name.startswith("王") for c in wang.items)
        deep = search.find(
            s, actor=DISTRICT, filters=search.Filters(q="海口路"), offset=25 * 40, limit=25
        )
        assert len(deep.items) == 25 and all("海口路" in c.description for c in deep.items)
        everything = search.find(s, actor=DISTRICT, filters=search.Filters(), limit=25)
        # Beyond the cap the count is an estimate from a sample of the ids, labelled so.
        assert not everything.exact and 0.75 * N <= everything.total <= 1.25 * N
    # The console's page answers in its normal flow.
    c = sign_in_client("W-ZHL-01", "clerk")
    body = c.get("/console/find?q=欧阳小雨").get_data(as_text=True)
    assert re.findall(r'href="/console/cases/(\d+)"', body) == [str(mine)]
    body = sign_in_client("X-SN", "admin").get("/console/find?q=王").get_data(as_text=True)
    assert len(re.findall(r'href="/console/cases/(\d+)"', body)) == 25
    body = sign_in_client("X-SN", "admin").get("/console/find").get_data(as_text=True)
    assert re.search(r"约 [\d,]+ 件（估计）", body)
