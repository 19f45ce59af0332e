"""A count beyond the cap is labelled an estimate: the API's `total_exact` is false and the
console says 约 (about); a small list's count is exact on both."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bench.seed import seed_cases
from tests.api.conftest import login  # noqa: F401 (the fixture)
from tests.conftest import T0
from workflow.store.models import Case

N = 12_000  # more than search.COUNT_CAP


@pytest.fixture
def city(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    with sessions.begin() as s:
        seed_cases(s, N, start=T0)
    return sessions


def test_the_api_and_the_console_label_an_estimate(
    city: sessionmaker[Session], sign_in_client: Callable[..., object]
) -> None:
    district = sign_in_client("X-SN", "admin")
    body = district.get("/console/find").get_data(as_text=True)  # type: ignore[attr-defined]
    about = re.search(r"约 ([\d,]+) 件（估计）", body)
    assert about is not None
    assert 0.75 * N <= int(about.group(1).replace(",", "")) <= 1.25 * N
    clerk = sign_in_client("W-ZHL-01", "clerk")
    body = clerk.get("/console/find").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "（估计）" not in body and re.search(r"\d+ 件", body)


def test_the_api_says_when_its_total_is_an_estimate(
    city: sessionmaker[Session],
    login: Callable[..., object],  # noqa: F811
) -> None:
    with city.begin() as s:
        # The seeded rows' states are not all their routes' (the seeding serves the search):
        # as cases at the dispatch centre (no route yet) they render.
        s.execute(update(Case).values(route_version=0))
    big = login("X-SN", "admin").get("/cases").json()  # type: ignore[attr-defined]
    assert big["total_exact"] is False and 0.75 * N <= big["total"] <= 1.25 * N
    small = login("W-ZHL-01", "clerk").get("/cases").json()  # type: ignore[attr-defined]
    with city() as s:
        really = s.execute(
            select(func.count(Case.id)).where(Case.workstation == "W-ZHL-01")
        ).scalar_one()
    assert (small["total"], small["total_exact"]) == (really, True)
