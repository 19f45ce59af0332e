"""Moving running cases to a new version of their route: the dry run's reasons, the moves with
their trail events and versions, and the way back."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, staff_of
from tests.listadmin.helpers import CLERK, STREET, open_case, trail_is_intact, walk
from workflow.audit import chain
from workflow.audit.replay import differences
from workflow.catalog import registry
from workflow.errors import InvalidInput, NotFound
from workflow.runtime import engine, migration
from workflow.spec.model import StateSpec
from workflow.spec.serialize import route_to_data
from workflow.store.models import Case, TrailEvent


def publish_v2(s: Session) -> None:
    """three_tier version 2: the street's review becomes 'street_check', done by the agency tier."""
    v1, _, _ = registry.route(s, "three_tier")

    def rename(name: str) -> str:
        return "street_check" if name == "street_review" else name

    states = tuple(
        StateSpec("street_check", tier="agency") if st.name == "street_review" else st
        for st in v1.states
    )
    transitions = tuple(
        dataclasses.replace(t, source=rename(t.source), dest=rename(t.dest)) for t in v1.transitions
    )
    v2 = dataclasses.replace(v1, states=states, transitions=transitions)
    chain.lock_head(s)  # publish_one appends to the trail: the house rule's lock comes first
    registry.publish_one(s, "route", "three_tier", route_to_data(v2), actor="admin", now=T0)


def test_running_cases_move_to_a_new_route_version_and_back(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        ws = open_case(s, "SW-02")
        walk(s, ws, ("accept", CLERK))
        st = open_case(s, "SW-02")
        walk(s, st, ("accept", CLERK), ("forward", CLERK))
        am = open_case(s, "SW-02")
        walk(s, am, ("accept", CLERK))
        engine.fire(s, am, "request_materials", CLERK, reason="缺户口簿", now=T0)
        dp = open_case(s, "SW-02")
        walk(s, dp, ("accept", CLERK), ("forward", CLERK), ("forward", STREET))
        done = open_case(s, "SW-02")
        walk(s, done, ("refuse", CLERK))
        publish_v2(s)
        before = {c.id: c.version for c in s.execute(select(Case)).scalars()}

    # The dry run: who can move, who cannot and why; nothing changes.
    with sessions() as s:
        plan = migration.plan(
            s,
            route="three_tier",
            from_version=1,
            to_version=2,
            mapping={
                "street_review": "street_check",
                "awaiting_materials": "ws_review",
                "dept_review": "dept_check",
            },
        )
        by = {m.case_id: m for m in plan.moves}
        assert set(by) == {ws, st, am, dp}  # the refused case is final: not running
        assert (by[ws].to_state, by[ws].to_holder) == ("ws_review", "W-ZHL-01")
        assert (by[st].to_state, by[st].to_holder) == ("street_check", "S-ZHL")
        assert by[am].why_not is not None and "applicant's clock" in by[am].why_not
        assert by[dp].why_not == "target state 'dept_check' is unknown in three_tier"
        unmapped = migration.plan(s, route="three_tier", from_version=1, to_version=2, mapping={})
        assert [m.why_not for m in unmapped.moves if m.case_id == st] == [
            "state 'street_review' is not mapped and three_tier has no such state"
        ]
        final = migration.plan(
            s,
            route="three_tier",
            from_version=1,
            to_version=2,
            mapping={"street_review": "approved"},
        )
        assert "is final" in str(next(m for m in final.moves if m.case_id == st))
        assert not s.execute(select(TrailEvent).where(TrailEvent.action == "case.migrated")).first()
        with pytest.raises(InvalidInput):
            migration.plan(s, route="three_tier", from_version=1, to_version=2, mapping={"x": "y"})
        with pytest.raises(NotFound):
            migration.plan(s, route="three_tier", from_version=1, to_version=3, mapping={})

    # Applying: every running case moves, one event each, its version up by one.
    with sessions.begin() as s:
        plan = migration.apply(
            s,
            route="three_tier",
            from_version=1,
            to_version=2,
            mapping={"street_review": "street_check"},
            actor="zhl-admin",
            unit="S-ZHL",
            now=T0,
        )
        assert len(plan.movable) == 4 and not plan.blocked
    with sessions() as s:
        for cid in (ws, st, am, dp):
            c = s.get(Case, cid)
            assert c is not None and c.route_version == 2 and c.version == before[cid] + 1
        c = s.get(Case, am)
        assert c is not None and c.paused_at is not None  # still waiting on the applicant
        ev = s.execute(
            select(TrailEvent).where(TrailEvent.action == "case.migrated", TrailEvent.case_id == st)
        ).scalar_one()
        assert (ev.from_state, ev.to_state, ev.from_holder, ev.to_holder) == (
            "street_review",
            "street_check",
            "S-ZHL",
            "S-ZHL",
        )
        assert ev.data["route"] == "three_tier"
        assert (ev.data["from_version"], ev.data["to_version"]) == (1, 2)
        assert (ev.actor, ev.unit) == ("zhl-admin", "S-ZHL")
        assert list(differences(s)) == [] and trail_is_intact(s)
        done_case = s.get(Case, done)
        assert done_case is not None and done_case.route_version == 1
    # The moved cases go on on version 2.
    with sessions.begin() as s:
        assert walk(s, am, ("resubmit", CLERK)).state == "ws_review"
        assert walk(s, st, ("forward", STREET)).state == "dept_review"

    # And back to version 1.
    with sessions.begin() as s:
        back = migration.apply(
            s,
            route="three_tier",
            from_version=2,
            to_version=1,
            mapping={"street_check": "street_review"},
            actor="zhl-admin",
            now=T0,
        )
        assert {m.case_id for m in back.movable} == {ws, st, am, dp}
    with sessions.begin() as s:
        c = walk(s, dp, ("approve", staff_of("D-MZ")))
        assert (c.route_version, c.state) == (1, "approved")
        assert list(differences(s)) == [] and trail_is_intact(s)
