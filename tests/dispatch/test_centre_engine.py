"""The dispatch centre through the engine: a case opened at the centre without a workstation,
classified, placed, its urgency raised, dispatched or answered; every step in the trail and
rebuilt by `audit replay`."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as, trail_intact, walk
from workflow.actors import Actor
from workflow.audit import replay
from workflow.dispatch import centre, duplicates
from workflow.errors import InvalidInput, NotAllowed, NotHolder
from workflow.store.models import Case, Feedback, TrailEvent

DISPATCHER = Actor("dispatcher", "H-SN", "dispatcher")
CLERK = Actor("clerk", "W-ZHL-01", "clerk")
STREET = Actor("street", "S-ZHL", "staff")


def _at_centre(s: Session, **kw: object) -> Case:
    return centre.open_at_dispatch(
        s, actor=DISPATCHER, applicant_name="王芳", applicant_phone="13800000000", **kw
    )


def _actions(s: Session, case_id: int) -> list[str]:
    return list(
        s.execute(
            select(TrailEvent.action).where(TrailEvent.case_id == case_id).order_by(TrailEvent.seq)
        ).scalars()
    )


def test_a_call_is_classified_placed_raised_and_dispatched_to_the_workstation(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        case = _at_centre(s, description="路灯不亮")
        assert (case.state, case.holder, case.item) == ("awaiting_dispatch", "H-SN", "")
        case_id = case.id
    with sessions.begin() as s:
        assert [c.id for c in centre.queue(s, DISPATCHER).items] == [case_id]
        centre.dispatch(
            s, case_id, DISPATCHER, "W-ZHL-01", item="UD-04", urgency="urgent", reason="夜间无灯"
        )
    with sessions.begin() as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert (case.state, case.holder, case.workstation, case.street) == (
            "reported",
            "W-ZHL-01",
            "W-ZHL-01",
            "S-ZHL",
        )
        assert case.route_name == "incident" and case.urgency == "urgent"
        assert case.stage_due_at is not None
        assert _actions(s, case_id) == [
            "case.opened",
            "case.classified",
            "case.placed",
            "case.urgency_changed",
            "case.dispatched",
        ]
        assert centre.queue(s, DISPATCHER).items == []
    # The workstation goes on as with a case from its window.
    with sessions.begin() as s:
        walk(s, case_id, ("accept", CLERK), ("resolve", CLERK))
    with sessions.begin() as s:
        assert trail_intact(s)
        assert list(replay.differences(s)) == []


def test_direct_to_the_department_only_where_the_list_allows(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        allowed = {d.tier: d.unit for d in centre.destinations(s, "UD-01", "W-ZHL-01")}
        # An incident: the street; its departments are called by the street's whistle only.
        assert allowed == {"workstation": "W-ZHL-01", "street_office": "S-ZHL"}
        passed_on = {d.tier: d.unit for d in centre.destinations(s, "SW-06", "W-ZHL-01")}
        # Received and passed on: the list gives the department a limit, the street none.
        assert passed_on == {"workstation": "W-ZHL-01", "department": "D-CL"}
        local = {d.tier for d in centre.destinations(s, "SW-10", "W-ZHL-01")}
        assert local == {"workstation"}  # decided at the workstation alone
        case_id = _at_centre(s, item="SW-10", workstation="W-ZHL-01").id
    with sessions.begin() as s, pytest.raises(InvalidInput) as refused:
        centre.dispatch(s, case_id, DISPATCHER, "D-RS")
    assert "W-ZHL-01" in str(refused.value.errors)
    with sessions.begin() as s:
        case_id = _at_centre(s, item="SW-06", workstation="W-ZHL-02").id
        centre.dispatch(s, case_id, DISPATCHER, "D-CL", reason="材料已齐")
        to_street = _at_centre(s, item="UD-01", workstation="W-ZHL-02").id
        centre.dispatch(s, to_street, DISPATCHER, "S-ZHL", reason="违建: 街道执法")
    with sessions.begin() as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert (case.state, case.holder) == ("dept_processing", "D-CL")
        street_case = s.get(Case, to_street)
        assert street_case is not None
        assert (street_case.state, street_case.holder) == ("street_handling", "S-ZHL")
        assert list(replay.differences(s)) == []


def test_a_consultation_answered_on_the_spot_ends_with_the_answer(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        case_id = _at_centre(s, description="高龄津贴怎么申请？").id
        centre.answer(s, case_id, DISPATCHER, "带身份证到社区工作站申请", item="GA-08")
    with sessions.begin() as s:
        case = s.get(Case, case_id)
        assert case is not None
        assert (case.state, case.holder, case.closed_at is not None) == ("answered", None, True)
        ev = s.execute(
            select(TrailEvent).where(
                TrailEvent.case_id == case_id, TrailEvent.action == "case.answered"
            )
        ).scalar_one()
        assert ev.reason == "带身份证到社区工作站申请"
        # The resident is asked to rate the answer, as for any case that ends.
        assert s.execute(select(Feedback).where(Feedback.case_id == case_id)).scalar_one()
        assert list(replay.differences(s)) == []
    with sessions.begin() as s:
        other = _at_centre(s, item="UD-01").id
    with sessions.begin() as s, pytest.raises(InvalidInput):
        centre.answer(s, other, DISPATCHER, "an answer to a report")


def test_who_acts_at_the_centre(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        case_id = _at_centre(s, item="UD-04", workstation="W-ZHL-01").id
    # A clerk does not dispatch; a staff member neither.
    for actor in (CLERK, STREET):
        with sessions.begin() as s, pytest.raises(NotHolder):
            centre.dispatch(s, case_id, actor, "W-ZHL-01")
    with sessions.begin() as s:
        centre.dispatch(s, case_id, DISPATCHER, "W-ZHL-01")
    # A dispatcher does not act in the workstation's stages.
    with sessions.begin() as s, pytest.raises(NotHolder):
        walk(s, case_id, ("accept", DISPATCHER))
    with sessions.begin() as s, pytest.raises(NotAllowed):
        centre.dispatch(s, case_id, DISPATCHER, "W-ZHL-01")


def test_a_clerk_sends_what_cannot_be_placed_to_the_centre(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        case = centre.open_at_dispatch(
            s, actor=CLERK, applicant_name="李强", item="UD-03", channel="window"
        )
        assert case.holder == centre.default_centre(s) == "H-SN"
        assert list(replay.differences(s)) == []


def test_a_duplicate_is_merged_and_its_resident_rates_the_master(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        master = open_case_as(s, "UD-04").id
        other_item = open_case_as(s, "UD-01").id
        dup = _at_centre(s, item="UD-04", workstation="W-ZHL-01")
        assert [c.id for c in duplicates.similar(s, dup)] == [master]
        dup_id = dup.id
        assert other_item not in [c.id for c in duplicates.similar(s, dup)]
    with sessions.begin() as s, pytest.raises(NotHolder):
        duplicates.merge(s, dup_id, CLERK, master, reason="同一路灯")
    with sessions.begin() as s:
        duplicates.merge(s, dup_id, DISPATCHER, master, reason="同一路灯")
    with sessions.begin() as s:
        dup_case = s.get(Case, dup_id)
        assert dup_case is not None
        assert (dup_case.state, dup_case.merged_into, dup_case.holder) == ("merged", master, None)
        assert s.execute(select(Feedback).where(Feedback.case_id == dup_id)).first() is None
        walk(s, master, ("accept", CLERK), ("resolve", CLERK), ("confirm", CLERK))
    with sessions.begin() as s:
        asked = s.execute(select(Feedback).where(Feedback.case_id == dup_id)).scalar_one()
        assert asked.handler == "W-ZHL-01" and asked.status == "pending"
        assert list(replay.differences(s)) == []
        assert trail_intact(s)
