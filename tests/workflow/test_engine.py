"""The engine's promises: typed refusals, one trail event per change, atomicity, pinned versions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, staff_of
from tests.tasks.helpers import publish_old_incident
from workflow.actors import Actor
from workflow.audit.chain import GENESIS, chain_hash, event_body
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.errors import InvalidInput, NotAllowed, NotFound, NotHolder, StaleVersion
from workflow.runtime import engine
from workflow.runtime.machines import _machines
from workflow.spec.loader import load_definitions
from workflow.store.models import Case, TrailEvent


def open_incident(s: Session, clerk: Actor, item: str = "UD-01") -> Case:
    return engine.open_case(
        s,
        item=item,
        workstation="W-ZHL-01",
        actor=clerk,
        applicant_name="李娜",
        applicant_phone="13912345678",
        description="楼下有违建",
        now=T0,
    )


def count_events(s: Session, case_id: int) -> int:
    return s.execute(
        select(func.count()).select_from(TrailEvent).where(TrailEvent.case_id == case_id)
    ).scalar_one()


def test_whistle_goes_to_the_named_department_and_it_reports(
    sessions: sessionmaker[Session], clerk: Actor, street_staff: Actor
) -> None:
    """On the incident route before tasks (cases opened then stay on it); the route with tasks
    is tested in tests/tasks."""
    with sessions.begin() as s:
        publish_old_incident(s)
        cid = open_incident(s, clerk).id
        engine.fire(s, cid, "accept", clerk, now=T0)
        engine.fire(s, cid, "forward", clerk, now=T0)
    with sessions.begin() as s, pytest.raises(InvalidInput) as exc:
        engine.fire(s, cid, "whistle", street_staff, reason="超出权限", target="D-MZ", now=T0)
    assert "target" in exc.value.errors
    with sessions.begin() as s, pytest.raises(InvalidInput):
        engine.fire(s, cid, "whistle", street_staff, reason="超出权限", now=T0)
    with sessions.begin() as s:
        ev = engine.fire(s, cid, "whistle", street_staff, reason="超出权限", target="D-ZJ", now=T0)
        assert (ev.from_holder, ev.to_holder, ev.data["target"]) == ("S-ZHL", "D-ZJ", "D-ZJ")
    # The responsible department (D-ZF) is not the one whistled to: it may not report.
    with sessions.begin() as s, pytest.raises(NotHolder):
        engine.fire(s, cid, "report", staff_of("D-ZF"), now=T0)
    with sessions.begin() as s:
        engine.fire(s, cid, "report", staff_of("D-ZJ"), now=T0)
        engine.fire(s, cid, "send_back", staff_of("D-ZJ"), reason="不属于本部门", now=T0)
        case = engine.get_case(s, cid)
        assert (case.state, case.holder, case.whistle_target) == ("street_handling", "S-ZHL", None)


def test_refusals_are_typed_and_change_nothing(
    sessions: sessionmaker[Session], clerk: Actor
) -> None:
    with sessions.begin() as s:
        cid = open_incident(s, clerk).id
    cases = [
        (dict(trigger="fly"), InvalidInput),
        (dict(trigger="confirm"), NotAllowed),
        (dict(trigger="refuse"), InvalidInput),  # reason missing
        (dict(trigger="accept", expected_version=7), StaleVersion),
        (dict(trigger="accept", actor=Actor("x", "W-ZHL-02", "clerk")), NotHolder),
        (dict(trigger="accept", target="D-ZF"), InvalidInput),
    ]
    for kwargs, error in cases:
        actor = kwargs.pop("actor", clerk)
        trigger = kwargs.pop("trigger")
        with sessions.begin() as s, pytest.raises(error):
            engine.fire(s, cid, trigger, actor, now=T0, **kwargs)  # type: ignore[arg-type]
    with sessions.begin() as s, pytest.raises(NotFound):
        engine.fire(s, 999999, "accept", clerk, now=T0)
    with sessions() as s:
        case = engine.get_case(s, cid)
        assert (case.state, case.version) == ("reported", 1)
        assert count_events(s, cid) == 1


def test_a_change_and_its_event_commit_together_or_not_at_all(
    sessions: sessionmaker[Session], clerk: Actor
) -> None:
    with sessions.begin() as s:
        cid = open_incident(s, clerk).id
    with pytest.raises(RuntimeError), sessions.begin() as s:
        engine.fire(s, cid, "accept", clerk, now=T0)
        raise RuntimeError("power cut before commit")
    with sessions() as s:
        case = engine.get_case(s, cid)
        assert (case.state, case.version, count_events(s, cid)) == ("reported", 1, 1)
    with sessions.begin() as s:
        engine.fire(s, cid, "accept", clerk, expected_version=1, now=T0)
    with sessions() as s:
        assert engine.get_case(s, cid).version == 2
        assert count_events(s, cid) == 2


def test_each_event_links_to_the_one_before(sessions: sessionmaker[Session], clerk: Actor) -> None:
    with sessions.begin() as s:
        cid = open_incident(s, clerk).id
        engine.fire(s, cid, "accept", clerk, now=T0)
        engine.fire(s, cid, "resolve", clerk, now=T0 + dt.timedelta(hours=1))
    with sessions() as s:
        events = s.execute(select(TrailEvent).order_by(TrailEvent.seq)).scalars().all()
    prev = GENESIS
    for ev in events:
        assert ev.prev_hash == prev
        assert ev.hash == chain_hash(prev, event_body(ev))
        prev = ev.hash
    assert [e.trigger for e in events if e.case_id == cid] == [None, "accept", "resolve"]


def test_publishing_a_new_route_version_leaves_running_cases_on_theirs(
    sessions: sessionmaker[Session], clerk: Actor
) -> None:
    defs = load_definitions(DEFAULT_DEFINITIONS)
    with sessions.begin() as s:
        old_id = open_incident(s, clerk).id
    incident = defs.route("incident")
    # Version 2 drops the workstation's own resolve: everything goes to the street.
    v2 = dataclasses.replace(
        incident,
        transitions=tuple(
            t
            for t in incident.transitions
            if not (t.source == "ws_handling" and t.trigger == "resolve")
        ),
    )
    routes = tuple(v2 if r.name == "incident" else r for r in defs.routes)
    with sessions.begin() as s:
        changes = registry.publish(s, dataclasses.replace(defs, routes=routes), actor="admin")
    assert [(c.name, c.version) for c in changes if c.changed] == [("incident", 2)]
    with sessions.begin() as s:
        new_id = open_incident(s, clerk).id
        assert engine.get_case(s, new_id).route_version == 2
        for cid in (old_id, new_id):
            engine.fire(s, cid, "accept", clerk, now=T0)
        engine.fire(s, old_id, "resolve", clerk, now=T0)
        with pytest.raises(NotAllowed):
            engine.fire(s, new_id, "resolve", clerk, now=T0)
        assert engine.get_case(s, old_id).route_version == 1


def test_unchanged_definitions_keep_their_version(sessions: sessionmaker[Session]) -> None:
    defs = load_definitions(DEFAULT_DEFINITIONS)
    with sessions.begin() as s:
        assert not any(c.changed for c in registry.publish(s, defs, actor="again"))
        assert registry.latest_version(s, "route", "incident") == 1


def test_one_machine_per_route_version_shared_by_all_cases(
    sessions: sessionmaker[Session], clerk: Actor
) -> None:
    with sessions.begin() as s:
        for _ in range(20):
            cid = open_incident(s, clerk).id
            engine.fire(s, cid, "accept", clerk, now=T0)
        _, _, digest = registry.route(s, "incident")
    machine = _machines[digest]
    assert machine.models == []  # no case was ever added to it


def test_open_case_checks_its_input(sessions: sessionmaker[Session], clerk: Actor) -> None:
    bad = [
        dict(item="XX-99"),
        dict(workstation="S-ZHL"),
        dict(applicant_name=" "),
        dict(description="长" * 5000),
    ]
    for change in bad:
        kwargs = dict(
            item="UD-01",
            workstation="W-ZHL-01",
            actor=clerk,
            applicant_name="王",
            applicant_phone="13912345678",
        )
        kwargs.update(change)
        with sessions.begin() as s, pytest.raises(InvalidInput):
            engine.open_case(s, now=T0, **kwargs)  # type: ignore[arg-type]
    with sessions.begin() as s, pytest.raises(NotHolder):
        engine.open_case(
            s,
            item="UD-01",
            workstation="W-ZHL-02",
            actor=clerk,
            applicant_name="王",
            applicant_phone="13912345678",
            now=T0,
        )
    with sessions() as s:
        assert s.execute(select(func.count(Case.id))).scalar_one() == 0


def test_available_triggers_are_what_the_actor_may_fire(
    sessions: sessionmaker[Session], clerk: Actor, street_staff: Actor
) -> None:
    with sessions.begin() as s:
        case = open_incident(s, clerk)
        assert engine.available_triggers(s, case, clerk) == ["accept", "refuse"]
        assert engine.available_triggers(s, case, street_staff) == []
        engine.fire(s, case.id, "accept", clerk, now=T0)
        engine.fire(s, case.id, "forward", clerk, now=T0)
        case = engine.get_case(s, case.id)
        assert sorted(engine.available_triggers(s, case, street_staff)) == [
            "dispatch",
            "resolve",
            "whistle",
        ]


def test_the_resident_is_asked_once_the_case_ends(
    sessions: sessionmaker[Session], clerk: Actor
) -> None:
    from workflow.store.models import Feedback

    with sessions.begin() as s:
        cid = open_incident(s, clerk).id
        for trig in ("accept", "resolve"):
            engine.fire(s, cid, trig, clerk, now=T0)
        assert s.scalars(select(Feedback).where(Feedback.case_id == cid)).all() == []
        engine.fire(s, cid, "confirm", clerk, now=T0)
    with sessions() as s:
        (fb,) = s.scalars(select(Feedback).where(Feedback.case_id == cid)).all()
        # The clerk resolved it: the workstation is the 承办单位; the link waits for the answer.
        assert (fb.status, fb.round, fb.handler, fb.commander) == ("pending", 1, "W-ZHL-01", None)
        assert fb.code and len(fb.code) == 8
        assert engine.get_case(s, cid).version == 4
