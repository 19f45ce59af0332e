"""Keyset paging: reading a list page after page with the `after` cursor returns every row
exactly once, while rows are being added between the pages."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from tests.queries.conftest import actor
from workflow.queries import cases, trail


def test_cases_newest_first_every_case_once_while_cases_are_opened(
    sessions: sessionmaker[Session], open_case: Callable[..., int]
) -> None:
    before = [open_case("W-ZHL-01") for _ in range(11)]
    street = actor("S-ZHL", "staff")
    read: list[int] = []
    added: list[int] = []
    after: int | None = None
    pages = 0
    while True:
        with sessions() as s:
            page = cases.list_cases(s, actor=street, after=after, limit=3)
        read += [c.id for c in page.items]
        pages += 1
        # Newer cases arrive between the pages, at the top of the list: no page shifts.
        added.append(open_case("W-ZHL-02"))
        if page.next is None:
            break
        after = page.next
        assert after == read[-1]
    assert pages == 4
    assert Counter(read) == Counter(before)  # every case there at the start, each once
    assert read == sorted(read, reverse=True)
    # A reader starting again sees the new cases first.
    with sessions() as s:
        first = cases.list_cases(s, actor=street, limit=len(added))
    assert [c.id for c in first.items] == sorted(added, reverse=True)
    assert first.total == len(before) + len(added)


def test_a_filtered_list_pages_within_its_filter(
    sessions: sessionmaker[Session], open_case: Callable[..., int]
) -> None:
    mine = [open_case("W-ZHL-01") for _ in range(4)]
    for _ in range(4):
        open_case("W-ZHL-02")
    clerk = actor("W-ZHL-01", "clerk")
    with sessions() as s:
        one = cases.list_cases(s, actor=clerk, after=None, limit=2)
        two = cases.list_cases(s, actor=clerk, after=one.next, limit=2)
        rest = cases.list_cases(s, actor=clerk, after=two.items[-1].id, limit=2)
    assert [c.id for c in one.items + two.items] == sorted(mine, reverse=True)
    assert two.next is None and rest.items == [] and rest.next is None
    assert one.total == two.total == 4


def test_the_trail_oldest_first_every_event_once_while_events_are_appended(
    sessions: sessionmaker[Session], open_case: Callable[..., int]
) -> None:
    for _ in range(3):
        open_case("W-ZHL-01", "UD-01", ("accept", "W-ZHL-01", "clerk"))
    auditor = actor("X-SN", "auditor")
    read: list[int] = []
    after = 0
    rounds = 0
    while True:
        with sessions() as s:
            page = trail.list_events(s, actor=auditor, after=after, limit=4)
        read += [e.seq for e in page.items]
        if rounds < 3:
            # Events appended meanwhile come at the end of the trail: read once, in order.
            open_case("W-ZHL-02")
            rounds += 1
        if page.next is None:
            break
        after = page.next
    with sessions() as s:
        everything = trail.list_events(s, actor=auditor, limit=100_000)
    assert read == [e.seq for e in everything.items]
    assert len(set(read)) == len(read)
