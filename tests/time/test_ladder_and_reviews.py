"""The ladder counted in the appraisal; a return's review past its limit supervised once; a
pending return lapsing when the case moves on; a route's own reviewer from the scheme."""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from tests.time.conftest import events, open_at, sh, sweep
from workflow.actors import Actor
from workflow.appraisal import records as appraisal
from workflow.catalog import registry
from workflow.config import DEFAULT_DEFINITIONS
from workflow.runtime import engine, returns
from workflow.spec.loader import load_definitions
from workflow.store.models import ReturnRequest

CLERK = Actor("clerk", "W-ZHL-01", "clerk")
STREET = Actor("street", "S-ZHL", "staff")
SQUAD = Actor("squad", "A-ZHL-ZF", "staff")


def test_each_step_of_the_ladder_is_counted_against_the_holder(
    sessions: sessionmaker[Session],
) -> None:
    # SW-11 accepted Monday Nov 2 10:00: 3 working days, due Thursday Nov 5 17:30; listed 16
    # working hours later (7.5 on Friday, 7.5 on Monday: Tuesday Nov 10 09:30) if still late.
    with sessions.begin() as s:
        cid = open_at(s, CLERK, "SW-11", sh(2026, 11, 2)).id
        engine.fire(s, cid, "accept", CLERK, now=sh(2026, 11, 2))
        # Another, done in time: the workstation's rates are full marks.
        done = open_at(s, CLERK, "SW-11", sh(2026, 11, 2)).id
        engine.fire(s, done, "accept", CLERK, now=sh(2026, 11, 2))
        engine.fire(s, done, "complete", CLERK, now=sh(2026, 11, 3))
    assert sweep(sessions, sh(2026, 11, 5, 9)).reminders == 1
    assert sweep(sessions, sh(2026, 11, 6, 9)).supervisions == 1
    assert sweep(sessions, sh(2026, 11, 10, 9)).listed == 0
    assert sweep(sessions, sh(2026, 11, 10, 10)).listed == 1
    assert sweep(sessions, sh(2026, 11, 11, 9)).listed == 0  # once
    # Two cases are too few to rank (不参评) by the shipped scheme: this one ranks any unit.
    defs = load_definitions(DEFAULT_DEFINITIONS)
    assert defs.appraisal is not None
    with sessions.begin() as s:
        scheme = {**defs.appraisal, "min_cases": 0}
        registry.publish(s, dataclasses.replace(defs, appraisal=scheme), actor="test", now=T0)
    with sessions.begin() as s:
        recs = appraisal.compute(s, "2026-11", now=sh(2026, 12, 1))
        ws = next(r for r in recs if r.unit == "W-ZHL-01")
        counts = {m: ws.metrics[m]["value"] for m in ("reminders", "supervisions")}
        assert counts == {"reminders": 1, "supervisions": 1}
        assert ws.metrics["listed_supervisions"]["numerator_cases"] == [cid]
        assert ws.metrics["on_time_rate"]["value"] == 1.0
        # 100 on the rates, less 1 (督办), 3 (挂牌督办), 0 (催办) and 1 for the case still open
        # and overdue at the month's end.
        assert ws.score == 95.0


def dispatched(s: Session) -> int:
    """Dispatched by the street to its enforcement squad (A-ZHL-ZF)."""
    cid = open_at(s, CLERK, "UD-01", T0).id
    engine.fire(s, cid, "accept", CLERK, now=T0)
    engine.fire(s, cid, "forward", CLERK, now=T0)
    engine.fire(s, cid, "dispatch", STREET, now=T0)
    return cid


def test_a_late_review_is_supervised_once_and_a_moved_case_lapses_its_return(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        late, moved = dispatched(s), dispatched(s)
        r1 = returns.request_return(
            s, case_id=late, actor=SQUAD, category="other", reason="不属本部门", now=T0
        )
        r2 = returns.request_return(
            s, case_id=moved, actor=SQUAD, category="done", reason="已处理", now=T0
        )
        due = r1.review_due_at
        # 8 working hours from Thursday 10:00 (6 that day): Friday 10:30.
        assert due == sh(2026, 11, 27, 10, 30)
        # The holder resolves the other meanwhile: its return has no object any more.
        engine.fire(s, moved, "resolve", SQUAD, now=sh(2026, 11, 26, 11))
    r = sweep(sessions, sh(2026, 11, 27, 11))
    assert (r.returns_late, r.returns_lapsed) == (1, 1)
    assert (sweep(sessions, sh(2026, 11, 27, 12)).returns_late) == 0
    with sessions() as s:
        [ev] = events(s, late, "return.review_late")
        assert (ev.data["reviewer"], ev.data["unit"]) == ("X-SN", "X-SN")
        assert s.get(ReturnRequest, r2.id).status == "lapsed"  # type: ignore[union-attr]
        assert s.get(ReturnRequest, r1.id).status == "pending"  # type: ignore[union-attr]


def test_a_route_may_name_the_street_as_reviewer(sessions: sessionmaker[Session]) -> None:
    defs = load_definitions(DEFAULT_DEFINITIONS)
    assert defs.appraisal is not None
    scheme = {**defs.appraisal}
    scheme["returns"] = {**scheme["returns"], "routes": {"incident": "street"}}
    with sessions.begin() as s:
        registry.publish(s, dataclasses.replace(defs, appraisal=scheme), actor="test", now=T0)
    with sessions.begin() as s:
        cid = dispatched(s)
        ret = returns.request_return(
            s, case_id=cid, actor=SQUAD, category="not_our_duty", reason="不属住建", now=T0
        )
        assert ret.reviewer == "S-ZHL"
