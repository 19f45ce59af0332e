"""Who sees which cases, supervisions, extensions and trail events: the query layer's scope rules
per role, read straight from the query functions the API and the console both call."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.queries.conftest import actor
from workflow.errors import NotFound, NotHolder
from workflow.queries import cases, extensions, scope, supervisions, trail

TO_DEPARTMENT = (
    ("accept", "W-ZHL-01", "clerk"),
    ("forward", "W-ZHL-01", "clerk"),
    ("forward", "S-ZHL", "staff"),
)


@pytest.fixture
def world(open_case: Callable[..., int]) -> dict[str, int]:
    """A case at each of two Zhuhai Road workstations, one at Hong Kong Middle Road, and one
    walked up to the Civil Affairs Bureau (D-MZ) and sent back to the street."""
    return {
        "zhl1": open_case("W-ZHL-01"),
        "zhl2": open_case("W-ZHL-02"),
        "xgz": open_case("W-XGZ-01"),
        "dept": open_case("W-ZHL-01", "SW-02", *TO_DEPARTMENT, ("send_back", "D-MZ", "staff")),
    }


def seen(sessions: sessionmaker[Session], unit: str, role: str) -> set[int]:
    with sessions() as s:
        page = cases.list_cases(s, actor=actor(unit, role), limit=100)
        assert page.total == len(page.items)
        return {c.id for c in page.items}


@pytest.mark.parametrize(
    ("unit", "role", "expected"),
    [
        ("W-ZHL-01", "clerk", {"zhl1", "dept"}),
        ("W-ZHL-02", "clerk", {"zhl2"}),
        ("S-ZHL", "staff", {"zhl1", "zhl2", "dept"}),
        ("S-ZHL", "admin", {"zhl1", "zhl2", "dept"}),
        ("S-XGZ", "staff", {"xgz"}),
        ("X-SN", "admin", {"zhl1", "zhl2", "xgz", "dept"}),
        # A department sees what it holds or has held, though the case went back.
        ("D-MZ", "staff", {"dept"}),
        ("D-WJ", "staff", set()),
        ("D-MZ", "admin", set()),
        ("X-SN", "auditor", {"zhl1", "zhl2", "xgz", "dept"}),
        ("S-XGZ", "auditor", {"xgz"}),
        ("W-ZHL-02", "auditor", {"zhl2"}),
        ("D-MZ", "auditor", {"dept"}),
    ],
)
def test_each_role_lists_the_cases_of_its_scope(
    sessions: sessionmaker[Session],
    world: dict[str, int],
    unit: str,
    role: str,
    expected: set[str],
) -> None:
    assert seen(sessions, unit, role) == {world[k] for k in expected}


def test_a_case_outside_scope_is_not_found_as_if_it_did_not_exist(
    sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    with sessions() as s:
        assert scope.get_case(s, actor("S-XGZ", "staff"), world["xgz"]).id == world["xgz"]
        for case_id in (world["zhl1"], 10**6, 0, 2**40):
            with pytest.raises(NotFound):
                scope.get_case(s, actor("S-XGZ", "staff"), case_id)


def test_filters_narrow_within_scope_only(
    sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    with sessions() as s:
        street = actor("S-ZHL", "staff")
        held = cases.list_cases(s, actor=street, holder="S-ZHL", limit=100)
        assert [c.id for c in held.items] == [world["dept"]]
        # Asking for another street's holder shows nothing of it.
        other = cases.list_cases(s, actor=street, holder="W-XGZ-01", limit=100)
        assert other.items == [] and other.total == 0
        items = cases.list_cases(s, actor=street, item="SW-02", limit=100)
        assert [c.id for c in items.items] == [world["dept"]]


def test_inbox_is_what_the_unit_holds(
    sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    with sessions() as s:
        inbox = cases.inbox(s, actor=actor("W-ZHL-01", "clerk"), limit=25)
        assert {c.id for c in inbox.items} == {world["zhl1"]}
        assert cases.inbox(s, actor=actor("S-ZHL", "staff"), limit=25).total == 1
        assert cases.inbox(s, actor=actor("D-MZ", "staff"), limit=25).total == 0


def test_the_trail_is_read_by_auditors_their_part_only(
    sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    with sessions() as s:
        whole = trail.list_events(s, actor=actor("X-SN", "auditor"), limit=10_000)
        street = trail.list_events(s, actor=actor("S-XGZ", "auditor"), limit=10_000)
        assert {e.case_id for e in street.items} == {world["xgz"]}
        assert street.total is not None and whole.total is not None
        assert 0 < street.total < whole.total
        for who in (actor("X-SN", "admin"), actor("S-ZHL", "staff"), actor("W-ZHL-01", "clerk")):
            with pytest.raises(NotHolder):
                trail.list_events(s, actor=who, limit=10)


def test_supervisions_and_extensions_follow_the_cases_in_scope(
    sessions: sessionmaker[Session], world: dict[str, int]
) -> None:
    from workflow.runtime import sla

    with sessions.begin() as s:
        ext = sla.request_extension(
            s,
            case_id=world["zhl1"],
            actor=actor("W-ZHL-01", "clerk"),
            reason="等待材料",
            days=2,
        )
        ext_id = ext.id
    with sessions() as s:
        for who, visible in (
            (actor("W-ZHL-01", "clerk"), True),
            (actor("S-ZHL", "staff"), True),  # its street: it decides
            (actor("X-SN", "auditor"), True),
            (actor("S-XGZ", "staff"), False),
            (actor("S-XGZ", "auditor"), False),
            (actor("W-ZHL-02", "clerk"), False),
        ):
            page = extensions.list_extensions(s, actor=who, limit=10)
            assert ([e.id for e in page.items] == [ext_id]) is visible, who
            if not visible:
                with pytest.raises(NotFound):
                    extensions.get_visible(s, actor=who, extension_id=ext_id)
        # No stage has passed its limit: nobody has a supervision yet.
        assert supervisions.list_supervisions(s, actor=actor("X-SN", "admin"), limit=10).total == 0
