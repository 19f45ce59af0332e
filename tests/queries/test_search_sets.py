"""A search whose words match in several ways at once (a place and an item's name; a case
number and a phone's last digits) finds every case any way matches, newest first, page by page
without a case twice or left out (SQLite reads them as one set of ids)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as
from tests.queries.conftest import actor
from workflow.queries import cases, search

CLERK = actor("W-ZHL-01", "clerk")


def pages(s: Session, q: str, per_page: int) -> list[int]:
    """Every case the clerk finds with Q, reading page after page by the cursor."""
    seen: list[int] = []
    after = None
    while True:
        page = cases.list_cases(
            s, actor=CLERK, filters=search.Filters(q=q), after=after, limit=per_page
        )
        seen += [c.id for c in page.items]
        if page.next is None:
            return seen
        after = page.next


def test_a_place_and_an_items_name_find_both_kinds_of_cases(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        # SW-01 is 高龄津贴 (old-age allowance): cases of that item, and cases whose place says it.
        of_item = [open_case_as(s, "SW-01", description="申请").id for _ in range(3)]
        in_place = [open_case_as(s, description="高龄津贴 咨询 海口路").id for _ in range(3)]
        both = open_case_as(s, "SW-01", description="高龄津贴").id
        neither = open_case_as(s, description="路灯不亮").id
    expected = sorted([*of_item, *in_place, both], reverse=True)
    with sessions() as s:
        for per_page in (1, 2, 3, 50):
            assert pages(s, "高龄津贴", per_page) == expected
        page = cases.list_cases(s, actor=CLERK, filters=search.Filters(q="高龄津贴"), limit=2)
        assert page.total == len(expected) and page.exact
        found = search.find(s, actor=CLERK, filters=search.Filters(q="高龄津贴"), limit=50)
        assert [c.id for c in found.items] == expected
        assert neither not in [c.id for c in found.items]


def test_a_number_finds_the_case_of_that_number_and_the_phones_ending_so(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        numbered = open_case_as(s, applicant_phone="13900000000").id
        digits = f"{numbered:03d}"  # a phone's tail is searched from 3 digits
        by_phone = open_case_as(s, applicant_phone="1391234" + digits.rjust(4, "5")).id
        open_case_as(s, applicant_phone="13912349999")
    with sessions() as s:
        assert pages(s, digits, 1) == sorted([numbered, by_phone], reverse=True)
