"""Keyset paging of the lists ordered by more than one key (the inbox and the whistle queue:
the most urgent first, then the nearest stage limit, cases without a limit last) and of the
search: every row there at the start read exactly once while cases are opened between the
pages, any page reached by its number equal to the same slice of the whole list."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, open_case_as
from tests.queries.conftest import actor
from workflow.errors import InvalidInput
from workflow.queries import cases, search
from workflow.store.models import Case

CLERK = actor("W-ZHL-01", "clerk")
URGENCY = ("normal", "urgent", "critical")


def add(s: Session, i: int, name: str = "王小明") -> int:
    """A case held by the window, its urgency and stage limit varied by I (some alike, some
    without a limit) so that the order needs every key."""
    cid = open_case_as(s, applicant_name=name, description="海口路").id
    due = None if i % 5 == 0 else T0 + dt.timedelta(hours=i % 4)
    s.execute(update(Case).where(Case.id == cid).values(urgency=URGENCY[i % 3], stage_due_at=due))
    return cid


def whole_inbox(s: Session) -> list[int]:
    return [c.id for c in cases.inbox(s, actor=CLERK, limit=10_000).items]


def test_the_inbox_read_page_after_page_while_cases_arrive(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        before = [add(s, i) for i in range(23)]
        expected = whole_inbox(s)
    assert sorted(expected) == sorted(before)
    read: list[int] = []
    after: str | None = None
    i = 100
    while True:
        with sessions() as s:
            page = cases.inbox(s, actor=CLERK, after=after, limit=4)
        read += [c.id for c in page.items]
        with sessions.begin() as s:  # new cases, some ahead of the cursor, some behind
            add(s, i)
            add(s, i + 1)
        i += 2
        if page.next is None:
            break
        after = page.next
    counts = Counter(read)
    assert all(n == 1 for n in counts.values())  # nothing read twice
    assert set(before) <= set(read)  # nothing there at the start missed
    # Those there at the start come in the list's order.
    assert [c for c in read if c in set(before)] == expected


@pytest.mark.parametrize("number", [1, 2, 4, 6])
def test_a_page_by_its_number_is_that_slice_of_the_list(
    sessions: sessionmaker[Session], number: int
) -> None:
    with sessions.begin() as s:
        for i in range(23):
            add(s, i)
    with sessions() as s:
        whole = whole_inbox(s)
        page = cases.inbox(s, actor=CLERK, offset=(number - 1) * 4, limit=4)
    assert [c.id for c in page.items] == whole[(number - 1) * 4 : number * 4]
    assert page.total == 23 and page.exact
    assert (page.next is None) == (number * 4 >= 23)


def test_the_search_read_page_after_page_while_matching_cases_arrive(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        before = [add(s, i) for i in range(13)]
        for i in range(5):
            add(s, i, name="李四")
    f = search.Filters(q="王小明")
    read: list[int] = []
    after: str | None = None
    while True:
        with sessions() as s:
            page = search.find(s, actor=CLERK, filters=f, after=after, limit=3)
        read += [c.id for c in page.items]
        with sessions.begin() as s:
            add(s, 0)  # newer: above the cursor, never shifts what is left
        if page.next is None:
            break
        after = page.next
    assert read == sorted(before, reverse=True)


def test_a_count_past_the_cap_says_so(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        for i in range(7):
            add(s, i)
    with sessions() as s:
        capped = search.find(s, actor=CLERK, filters=search.Filters(), limit=2, count_cap=5)
        exact = search.find(s, actor=CLERK, filters=search.Filters(), limit=2, count_cap=7)
    # Past the cap on a table this small, counting them all is cheap: exact still (an estimate
    # past the cap on a large one: tests/queries/test_count_estimates.py).
    assert (capped.total, capped.exact) == (7, True)
    assert (exact.total, exact.exact) == (7, True)


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "W10=",
        "WyJ4Il0",
        "e30",
        "WzEsMiwzLDRd",
        "WyJhIiwgImIiLCAiYyJd",
        "WzAsIHsidCI6ICIyMDI2LTAxLTAxVDAwOjAwOjAwIn0sIDFd",
        "WzAsIHsidCI6ICIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIn0sIDEwOTk1MTE2Mjc3NzZd",
        "W3RydWUsIDEsIDFd",
        "WzAsIHsidCI6ICJ4In0sIDFd",
    ],
)
def test_a_cursor_not_of_this_list_is_refused(sessions: sessionmaker[Session], token: str) -> None:
    with sessions() as s, pytest.raises(InvalidInput):
        cases.inbox(s, actor=CLERK, after=token, limit=3)
