"""Finding cases with one search box: by number, phone's last digits, name, place, item, and by
street, urgency, dates, light; each only in the searcher's scope, names and phones only for
those who may read them. The search index is kept by the write that opens or changes a case."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as
from tests.queries.conftest import actor
from workflow.errors import InvalidInput
from workflow.queries import cases, search
from workflow.store.models import Case

CLERK = actor("W-ZHL-01", "clerk")
STREET = actor("S-ZHL", "staff")
DISTRICT_ADMIN = actor("X-SN", "admin")
DISTRICT_AUDITOR = actor("X-SN", "auditor")


def found(s: Session, who: object, **filters: object) -> list[int]:
    page = cases.list_cases(s, actor=who, filters=search.Filters(**filters), limit=50)  # type: ignore[arg-type]
    return sorted(c.id for c in page.items)


@pytest.fixture
def three(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions.begin() as s:
        a = open_case_as(
            s,
            applicant_name="王小明",
            applicant_phone="13912345678",
            description="海口路12号 路灯不亮",
        ).id
        b = open_case_as(
            s,
            applicant_name="李四",
            applicant_phone="053288887777",
            description="楼道堆物",
        ).id
        c = open_case_as(
            s,
            "SW-01",
            applicant_name="John Smith",
            applicant_phone="13700009999",
            description="old-age allowance",
        ).id
        d = open_case_as(
            s,
            workstation="W-ZHL-02",
            applicant_name="王小明",
            applicant_phone="13912345678",
            description="另一个工作站",
        ).id
    return {"a": a, "b": b, "c": c, "other_ws": d}


def test_by_case_number_with_or_without_hash(sessions, three) -> None:
    with sessions() as s:
        assert found(s, CLERK, q=str(three["b"])) == [three["b"]]
        assert found(s, CLERK, q=f"#{three['b']}") == [three["b"]]
        assert found(s, CLERK, q="#99999999") == []


def test_by_the_last_digits_of_the_phone(sessions, three) -> None:
    with sessions() as s:
        assert found(s, CLERK, q="5678") == [three["a"]]
        assert found(s, CLERK, q="7777") == [three["b"]]
        assert found(s, CLERK, q="1234") == []  # in the middle, not the end


def test_by_name_anywhere_or_by_its_start_when_short(sessions, three) -> None:
    with sessions() as s:
        assert found(s, CLERK, q="王小明") == [three["a"]]
        assert found(s, CLERK, q="小明") == []  # 2 characters: the start of a name only
        assert found(s, CLERK, q="王") == [three["a"]]
        assert found(s, CLERK, q="李四") == [three["b"]]
        assert found(s, CLERK, q="smith") == [three["c"]]  # any case, anywhere


def test_by_place_and_by_item(sessions, three) -> None:
    with sessions() as s:
        assert found(s, CLERK, q="海口路") == [three["a"]]
        assert found(s, CLERK, q="12号") == [three["a"]]
        assert found(s, CLERK, q="高龄津贴") == [three["c"]]  # SW-01's name
        assert found(s, CLERK, q="sw-01") == [three["c"]]


def test_the_same_person_at_another_workstation_stays_out_of_scope(sessions, three) -> None:
    with sessions() as s:
        assert found(s, CLERK, q="王小明") == [three["a"]]
        assert found(s, STREET, q="王小明") == sorted([three["a"], three["other_ws"]])


def test_auditors_find_no_one_by_name_and_admins_no_one_by_phone(sessions, three) -> None:
    with sessions() as s:
        assert found(s, DISTRICT_AUDITOR, q="王小明") == []
        assert found(s, DISTRICT_AUDITOR, q="王") == []
        assert found(s, DISTRICT_AUDITOR, q="海口路") == [three["a"]]  # the place is no secret
        assert found(s, DISTRICT_ADMIN, q="5678") == []
        assert found(s, DISTRICT_ADMIN, q="王小明") == sorted([three["a"], three["other_ws"]])
        assert found(s, STREET, q="5678") == sorted([three["a"], three["other_ws"]])


def test_filters_street_urgency_dates_item_light(sessions, three) -> None:
    with sessions.begin() as s:
        s.execute(update(Case).where(Case.id == three["b"]).values(urgency="urgent"))
        created = s.get(Case, three["a"]).created_at  # type: ignore[union-attr]
    day = created.astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    every = sorted(three.values())
    with sessions() as s:
        assert found(s, DISTRICT_ADMIN, street="S-ZHL") == every
        assert found(s, DISTRICT_ADMIN, street="S-NOPE") == []
        assert found(s, DISTRICT_ADMIN, urgency="urgent") == [three["b"]]
        assert found(s, DISTRICT_ADMIN, opened_from=day, opened_until=day) == every
        assert found(s, DISTRICT_ADMIN, opened_from=day + dt.timedelta(days=1)) == []
        assert found(s, DISTRICT_ADMIN, opened_until=day - dt.timedelta(days=1)) == []
        assert found(s, DISTRICT_ADMIN, item="SW-01") == [three["c"]]
        assert found(s, DISTRICT_ADMIN, q="王小明", urgency="urgent") == []


def test_the_index_follows_a_changed_case_in_the_same_transaction(sessions, three) -> None:
    with sessions.begin() as s:
        s.execute(update(Case).where(Case.id == three["b"]).values(description="中山路100号 漏水"))
        assert found(s, CLERK, q="中山路") == [three["b"]]  # before the commit, same session
    with sessions() as s:
        assert found(s, CLERK, q="楼道堆物") == []
        assert found(s, CLERK, q="中山路") == [three["b"]]
    with sessions.begin() as s:  # the address reported with the case's location
        s.execute(update(Case).where(Case.id == three["c"]).values(address="香港中路100号"))
    with sessions() as s:
        assert found(s, CLERK, q="香港中路") == [three["c"]]


def test_a_rolled_back_case_is_not_found(sessions, three) -> None:
    s = sessions()
    open_case_as(s, applicant_name="赵六六", description="撤回")
    s.rollback()
    s.close()
    with sessions() as s:
        assert found(s, CLERK, q="赵六六") == []


def test_search_text_is_data_not_syntax(sessions, three) -> None:
    with sessions() as s:
        for q in ('"', "王*", "a OR b", "name:王", "%", "_", "\\", "NEAR(", "'; --", "{name}"):
            assert found(s, CLERK, q=q) == [] or q == "王*"


def test_bad_filters_are_refused_by_name(sessions) -> None:
    with sessions() as s, pytest.raises(InvalidInput) as exc:
        cases.list_cases(s, actor=CLERK, filters=search.Filters(q="x" * 101, view="nope"), limit=5)
    assert set(exc.value.errors or {}) == {"q", "view"}


def test_the_views_beside_the_inbox(
    sessions: sessionmaker[Session], open_case: Callable[..., int]
) -> None:
    mine = open_case("W-ZHL-01")
    forwarded = open_case("W-ZHL-01", "UD-01", ("accept", "W-ZHL-01", "clerk"))
    with sessions() as s:
        assert found(s, CLERK, view="opened") == sorted([mine, forwarded])
        assert found(s, STREET, view="whistled") == []
