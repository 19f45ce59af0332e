"""Lights, supervision, timeouts, extensions and whistle response limits, with an injected clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, staff_of
from tests.tasks.helpers import old_incident_route, publish_old_incident
from tests.time.conftest import chain_intact, events, open_at, sh, sweep
from workflow.actors import Actor
from workflow.audit.replay import differences
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.errors import Conflict, InvalidInput, NotAllowed, NotHolder
from workflow.runtime import engine, sla
from workflow.runtime.holders import supervising_units
from workflow.spec.checks import check_route
from workflow.spec.loader import load_definitions
from workflow.spec.model import Definitions, StateSpec, TransitionSpec
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.models import Case, Extension, Supervision, TrailEvent

CLERK = Actor("clerk", "W-ZHL-01", "clerk")
STREET = Actor("street", "S-ZHL", "staff")


def processing_case(s: Session, at: dt.datetime = T0) -> Case:
    """SW-11 accepted at AT (Thursday 10:00): 3 working days, due Tuesday 17:30."""
    case = open_at(s, CLERK, "SW-11", at)
    engine.fire(s, case.id, "accept", CLERK, now=at)
    return case


def light(sessions: sessionmaker[Session], case_id: int) -> str:
    with sessions() as s:
        return s.execute(select(Case.light).where(Case.id == case_id)).scalar_one()


def supervisions(sessions: sessionmaker[Session]) -> list[Supervision]:
    with sessions() as s:
        return list(s.execute(select(Supervision).order_by(Supervision.id)).scalars())


def test_lights_turn_yellow_at_three_quarters_and_red_past_the_limit_with_one_supervision(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        cid = processing_case(s).id
        version = engine.get_case(s, cid).version
    # 28.5 working hours from Thursday 10:00 to Tuesday 17:30; 75% is Tuesday 08:52:30.
    assert sweep(sessions, sh(2026, 11, 30, 17)).checked == 0
    assert light(sessions, cid) == "green"
    assert sweep(sessions, sh(2026, 12, 1, 8, 52)).checked == 0
    r = sweep(sessions, sh(2026, 12, 1, 9))
    assert (r.checked, r.yellow, r.supervisions) == (1, 1, 0)
    assert light(sessions, cid) == "yellow"
    assert supervisions(sessions) == []
    r = sweep(sessions, sh(2026, 12, 2, 9))
    assert (r.red, r.supervisions) == (1, 1)
    assert light(sessions, cid) == "red"
    # Again, and later: nothing more.
    assert sweep(sessions, sh(2026, 12, 2, 9)).checked == 0
    assert sweep(sessions, sh(2026, 12, 9, 9)).checked == 0
    [sup] = supervisions(sessions)
    with sessions() as s:
        case = engine.get_case(s, cid)
        accept = events(s, cid, "case.transition")[0]
        [raised] = events(s, cid, "supervision.raised")
        assert case.version == version  # lights and supervisions are not transitions
        assert list(differences(s)) == []
        assert chain_intact(s)
    assert (sup.case_id, sup.stage_seq, sup.state, sup.holder) == (
        cid,
        accept.seq,
        "processing",
        "W-ZHL-01",
    )
    assert (sup.unit, sup.also_unit, sup.stage_due_at) == ("S-ZHL", None, sh(2026, 12, 1, 17, 30))
    assert raised.actor == "system"
    assert raised.data["supervision"] == sup.id and raised.data["unit"] == "S-ZHL"
    # The next stage is a new stage: its own light, its own supervision when it is late.
    with sessions.begin() as s:
        ev = engine.fire(s, cid, "complete", CLERK, now=sh(2026, 12, 2, 10))
        assert ev.data["left"]["late"] is True
    assert light(sessions, cid) == "none"


def test_a_transition_resets_the_light_and_a_new_late_stage_raises_its_own_supervision(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        case = open_at(s, CLERK, "UD-01", T0)  # reported: 4 working hours to accept
        cid = case.id
        assert (case.light, case.stage_due_at) == ("green", sh(2026, 11, 26, 15, 30))
    sweep(sessions, sh(2026, 11, 26, 16))
    with sessions.begin() as s:
        ev = engine.fire(s, cid, "accept", CLERK, now=sh(2026, 11, 26, 16, 30))
        assert (ev.data["left"]["late"], ev.data["response_late"]) == (True, True)
        assert engine.get_case(s, cid).light == "green"
        engine.fire(s, cid, "forward", CLERK, now=sh(2026, 11, 26, 16, 30))
    # Street: 4 working days from Thursday: due Wednesday 2 December 17:30.
    sweep(sessions, sh(2026, 12, 3, 9))
    sups = supervisions(sessions)
    assert [(x.state, x.holder, x.unit) for x in sups] == [
        ("reported", "W-ZHL-01", "S-ZHL"),
        ("street_handling", "S-ZHL", "X-SN"),
    ]
    assert sups[0].stage_seq != sups[1].stage_seq


def test_supervising_units_follow_the_organisation(sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        units = registry.units(s)
    assert supervising_units("W-ZHL-01", units) == ("S-ZHL", None)
    assert supervising_units("S-ZHL", units) == ("X-SN", None)
    assert supervising_units("A-ZHL-ZF", units) == ("D-ZF", "S-ZHL")
    assert supervising_units("D-ZF", units) == ("X-SN", None)


def test_an_agency_late_stage_is_supervised_by_its_department_and_its_host_street(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        cid = open_at(s, CLERK, "UD-01", T0).id
        engine.fire(s, cid, "accept", CLERK, now=T0)
        engine.fire(s, cid, "forward", CLERK, now=T0)
        engine.fire(s, cid, "dispatch", STREET, now=T0)
    sweep(sessions, sh(2026, 12, 10))
    [sup] = [x for x in supervisions(sessions) if x.state == "agency_handling"]
    assert (sup.holder, sup.unit, sup.also_unit) == ("A-ZHL-ZF", "D-ZF", "S-ZHL")
    # Either may acknowledge it, once.
    with sessions.begin() as s, pytest.raises(NotHolder):
        sla.acknowledge_supervision(s, supervision_id=sup.id, actor=staff_of("S-BDG"))
    with sessions.begin() as s:
        sla.acknowledge_supervision(
            s, supervision_id=sup.id, actor=STREET, now=sh(2026, 12, 10, 11)
        )
    with sessions.begin() as s, pytest.raises(Conflict):
        sla.acknowledge_supervision(s, supervision_id=sup.id, actor=staff_of("D-ZF"))
    with sessions() as s:
        sup2 = s.get(Supervision, sup.id)
        assert sup2 is not None
        assert (sup2.acknowledged_by, sup2.acknowledged_at) == ("street", sh(2026, 12, 10, 11))
        [ack] = events(s, cid, "supervision.acknowledged")
        assert (ack.actor, ack.unit, ack.data["supervision"]) == ("street", "S-ZHL", sup.id)


# ---------------------------------------------------------------- whistle response


def whistled(s: Session, at: dt.datetime = T0) -> int:
    """A case whistled to D-ZJ on the incident route before tasks (the department holds it)."""
    if registry.route(s, "incident")[0].has_tasks:
        publish_old_incident(s)
    cid = open_at(s, CLERK, "UD-01", at).id
    engine.fire(s, cid, "accept", CLERK, now=at)
    engine.fire(s, cid, "forward", CLERK, now=at)
    engine.fire(s, cid, "whistle", STREET, reason="违建需执法", target="D-ZJ", now=at)
    return cid


def test_a_whistle_answered_in_time_and_one_answered_late(
    sessions: sessionmaker[Session],
) -> None:
    # UD-01 gives a department 4 working hours to report after a whistle at Thursday 10:00:
    # until 15:30 (two hours before lunch, two after 13:30).
    with sessions.begin() as s:
        on_time, late = whistled(s), whistled(s)
        assert engine.get_case(s, on_time).stage_due_at == sh(2026, 11, 26, 15, 30)
        a = engine.fire(s, on_time, "report", staff_of("D-ZJ"), now=sh(2026, 11, 26, 15, 29))
        b = engine.fire(s, late, "report", staff_of("D-ZJ"), now=sh(2026, 11, 27, 9))
    assert (a.data["left"]["late"], a.data["response_late"]) == (False, False)
    assert (b.data["left"]["late"], b.data["response_late"]) == (True, True)
    assert b.data["left"]["state"] == "awaiting_report"
    assert b.data["left"]["due_at"] == "2026-11-26T07:30:00.000000Z"
    # A stage with a day limit is not a response: no response_late on leaving it.
    with sessions.begin() as s:
        ev = engine.fire(s, on_time, "resolve", staff_of("D-ZJ"), now=sh(2026, 11, 27, 9))
        assert "response_late" not in ev.data and ev.data["left"]["late"] is False


def timeout_definitions() -> Definitions:
    """The shipped definitions with the incident route before tasks given a system timeout: an
    unanswered whistle goes back to the street. (The shipped routes keep exactly the domain's
    triggers.)"""
    defs = load_definitions(DEFAULT_DEFINITIONS)
    route = old_incident_route()
    states = tuple(
        dataclasses.replace(x, on_timeout="time_out") if x.name == "awaiting_report" else x
        for x in route.states
    )
    back = TransitionSpec("time_out", "awaiting_report", "street_handling", ("system",))
    route = dataclasses.replace(route, states=states, transitions=(*route.transitions, back))
    assert check_route(route, "incident.yaml") == []
    routes = tuple(route if r.name == "incident" else r for r in defs.routes)
    return dataclasses.replace(defs, routes=routes)


def test_an_unanswered_whistle_times_out_back_to_the_street(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        registry.publish(s, timeout_definitions(), actor="test", now=T0)
    with sessions.begin() as s:
        cid = whistled(s)
        version = engine.get_case(s, cid).version
    r = sweep(sessions, sh(2026, 11, 26, 16))
    assert (r.supervisions, r.timeouts, r.problems) == (1, 1, [])
    with sessions() as s:
        case = engine.get_case(s, cid)
        assert (case.state, case.holder, case.whistle_target) == ("street_handling", "S-ZHL", None)
        assert case.version == version + 1  # the timeout is a transition
        raised, fired = [e for e in events(s, cid) if e.seq > 0][-2:]
        assert (raised.action, raised.data["unit"], raised.data["holder"]) == (
            "supervision.raised",
            "X-SN",
            "D-ZJ",
        )
        assert (fired.trigger, fired.actor, fired.reason) == (
            "time_out",
            "system",
            sla.TIMEOUT_REASON,
        )
        assert fired.data["response_late"] is True and fired.data["input"] == {"timeout": True}
    assert sweep(sessions, sh(2026, 11, 26, 16)).checked == 0


def test_a_timeout_must_be_fired_by_the_system() -> None:
    route = old_incident_route()
    states = tuple(
        dataclasses.replace(x, on_timeout="report") if x.name == "awaiting_report" else x
        for x in route.states
    )
    problems = check_route(dataclasses.replace(route, states=states), "incident.yaml")
    assert [(p.place, p.message) for p in problems] == [
        ("states.awaiting_report.on_timeout", "'report' must list the role 'system'")
    ]
    assert isinstance(route.state("awaiting_report"), StateSpec)


# ---------------------------------------------------------------- extensions


def test_an_extension_approved_moves_both_limits_and_one_refused_moves_nothing(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        yes, no = processing_case(s).id, processing_case(s).id
        case = engine.get_case(s, yes)
        version, stage_due, case_due = case.version, case.stage_due_at, case.due_at
    assert stage_due == sh(2026, 12, 1, 17, 30) and case_due is not None
    with sessions.begin() as s:
        ext = sla.request_extension(
            s, case_id=yes, actor=CLERK, reason="需上门核实", days=2, now=sh(2026, 11, 27, 9)
        )
        ext_no = sla.request_extension(
            s, case_id=no, actor=CLERK, reason="需上门核实", days=5, now=sh(2026, 11, 27, 9)
        )
        assert (ext.status, ext.unit, ext.holder) == ("pending", "S-ZHL", "W-ZHL-01")
    with sessions.begin() as s:
        sla.decide_extension(
            s, extension_id=ext.id, actor=STREET, approve=True, days=3, now=sh(2026, 11, 27, 11)
        )
        sla.decide_extension(
            s,
            extension_id=ext_no.id,
            actor=STREET,
            approve=False,
            reason="材料齐全，应按时办结",
            now=sh(2026, 11, 27, 11),
        )
    with sessions() as s:
        case = engine.get_case(s, yes)
        # 3 working days after Tuesday 1 December: Friday 4 December; the case by as much.
        assert case.stage_due_at == sh(2026, 12, 4, 17, 30)
        assert case.due_at == engine.work_calendar(s).add_working_hours(case_due, 3 * 7.5)
        assert case.version == version  # an extension is not a transition
        e = s.get(Extension, ext.id)
        assert e is not None
        assert (e.status, e.days, e.decided_by) == ("approved", 3, "street")
        assert e.new_stage_due_at == sh(2026, 12, 4, 17, 30)
        [asked, approved] = [x for x in events(s, yes) if x.action.startswith("extension.")]
        assert (asked.action, asked.reason, asked.data["days"]) == (
            "extension.requested",
            "需上门核实",
            2,
        )
        assert (approved.action, approved.actor, approved.data["days"]) == (
            "extension.approved",
            "street",
            3,
        )
        assert approved.data["stage_due_at"] == "2026-12-04T09:30:00.000000Z"
        refused_case = engine.get_case(s, no)
        assert refused_case.stage_due_at == stage_due and refused_case.due_at == case_due
        [refused] = events(s, no, "extension.refused")
        assert refused.reason == "材料齐全，应按时办结"
        assert s.get(Extension, ext_no.id).status == "refused"  # type: ignore[union-attr]
    # The approved case is not late on the old limit; the refused one is.
    sweep(sessions, sh(2026, 12, 2, 9))
    assert (light(sessions, yes), light(sessions, no)) == ("green", "red")
    assert [x.case_id for x in supervisions(sessions)] == [no]


def test_extension_refusals_are_typed_and_change_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        cid = processing_case(s).id
    before = sh(2026, 11, 27, 9)
    cases = [
        (dict(actor=staff_of("W-ZHL-02")), NotHolder),
        (dict(reason=" "), InvalidInput),
        (dict(days=0), InvalidInput),
        (dict(days=True), InvalidInput),
        (dict(now=sh(2026, 12, 2, 9)), NotAllowed),  # after the limit
    ]
    for change, error in cases:
        args = {"case_id": cid, "actor": CLERK, "reason": "需要", "days": 2, "now": before}
        with sessions.begin() as s, pytest.raises(error):
            sla.request_extension(s, **{**args, **change})  # type: ignore[arg-type]
    with sessions.begin() as s:
        ext = sla.request_extension(s, case_id=cid, actor=CLERK, reason="需要", days=2, now=before)
    with sessions.begin() as s, pytest.raises(Conflict):  # one pending request per stage
        sla.request_extension(s, case_id=cid, actor=CLERK, reason="再要", days=1, now=before)
    with sessions.begin() as s, pytest.raises(NotHolder):  # another street
        sla.decide_extension(s, extension_id=ext.id, actor=staff_of("S-BDG"), approve=True)
    with sessions.begin() as s, pytest.raises(NotHolder):  # the holder itself
        sla.decide_extension(s, extension_id=ext.id, actor=CLERK, approve=True)
    with sessions.begin() as s, pytest.raises(InvalidInput):  # a refusal says why
        sla.decide_extension(s, extension_id=ext.id, actor=STREET, approve=False)
    with sessions() as s:
        assert s.get(Extension, ext.id).status == "pending"  # type: ignore[union-attr]
        n = s.execute(select(func.count()).where(TrailEvent.case_id == cid)).scalar_one()
        assert n == 3  # opened, accepted, one request
    with sessions.begin() as s:
        sla.decide_extension(s, extension_id=ext.id, actor=STREET, approve=True, now=before)
    with sessions.begin() as s, pytest.raises(Conflict):
        sla.decide_extension(s, extension_id=ext.id, actor=STREET, approve=False, reason="改")
    # A request of a stage that has ended cannot be decided.
    with sessions.begin() as s:
        ext2 = sla.request_extension(s, case_id=cid, actor=CLERK, reason="再要", days=1, now=before)
        engine.fire(s, cid, "complete", CLERK, now=before)
    with sessions.begin() as s, pytest.raises(NotAllowed):
        sla.decide_extension(s, extension_id=ext2.id, actor=STREET, approve=True, now=before)
    with sessions.begin() as s, pytest.raises(NotAllowed, match="completed"):
        sla.request_extension(s, case_id=cid, actor=CLERK, reason="再要", days=1, now=before)


def test_the_clock_stopped_refuses_a_request_and_a_decision_adds_to_the_time_left(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        cid = processing_case(s).id
        ext = sla.request_extension(
            s, case_id=cid, actor=CLERK, reason="需要", days=1, now=sh(2026, 11, 27, 9)
        )
        engine.fire(s, cid, "request_materials", CLERK, reason="缺材料", now=sh(2026, 11, 27, 10))
    with sessions.begin() as s, pytest.raises(NotAllowed):
        sla.request_extension(
            s, case_id=cid, actor=CLERK, reason="需要", days=1, now=sh(2026, 11, 27, 11)
        )
    with sessions.begin() as s:
        sla.decide_extension(
            s, extension_id=ext.id, actor=STREET, approve=True, now=sh(2026, 11, 27, 11)
        )
        engine.fire(s, cid, "resubmit", CLERK, now=sh(2026, 11, 30, 10))
        # Paused one working day and extended by one: Tuesday 17:30 becomes Thursday 17:30.
        assert engine.get_case(s, cid).stage_due_at == sh(2026, 12, 3, 17, 30)


# ---------------------------------------------------------------- concurrency


def test_two_sweeps_at_once_raise_one_supervision_per_overdue_stage(
    sessions: sessionmaker[Session], db_url: str
) -> None:
    with sessions.begin() as s:
        ids = [processing_case(s).id for _ in range(60)]
    at = sh(2026, 12, 2, 9)
    barrier = threading.Barrier(2)
    results: list[sla.SweepResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        engine_ = make_engine(db_url)
        try:
            own = make_sessionmaker(engine_)
            barrier.wait()
            results.append(sla.sweep(own, now=at, batch=5))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            engine_.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and len(results) == 2
    assert sum(r.supervisions for r in results) == 60
    sups = supervisions(sessions)
    assert sorted(x.case_id for x in sups) == ids
    with sessions() as s:
        raised = s.execute(
            select(func.count()).where(TrailEvent.action == "supervision.raised")
        ).scalar_one()
        assert raised == 60
        assert chain_intact(s)
        assert set(s.execute(select(Case.light).where(Case.id.in_(ids))).scalars()) == {"red"}
