"""紧急程度: urgent and critical cases run on clock time, round the clock; normal ones do not."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import staff_of
from tests.time.conftest import events, sh, sweep
from workflow.actors import Actor
from workflow.audit.replay import differences
from workflow.errors import Conflict, InvalidInput, NotHolder
from workflow.runtime import engine, tasks, urgency
from workflow.store.models import Case, Supervision, Task

CLERK = Actor("clerk", "W-ZHL-01", "clerk")
STREET = Actor("street", "S-ZHL", "staff")
FRIDAY_NIGHT = sh(2026, 11, 27, 22, 0)


def accepted(s: Session, level: str | None, at=FRIDAY_NIGHT) -> int:
    """A case of urgency LEVEL opened at AT and accepted a minute later."""
    case = engine.open_case(
        s,
        item="UD-01",
        workstation="W-ZHL-01",
        actor=CLERK,
        applicant_name="王芳",
        applicant_phone="13800000000",
        description="夜间违建施工",
        urgency=level,
        now=at,
    )
    engine.fire(s, case.id, "accept", CLERK, now=at.replace(minute=1))
    return case.id


def whistled(s: Session, level: str | None, at=FRIDAY_NIGHT) -> int:
    case_id = accepted(s, level, at)
    engine.fire(s, case_id, "forward", CLERK, now=at.replace(minute=2))
    engine.fire(
        s, case_id, "whistle", STREET, reason="夜间施工", target="D-ZJ", now=at.replace(minute=5)
    )
    return case_id


def task_of(s: Session, case_id: int) -> Task:
    return s.execute(select(Task).where(Task.case_id == case_id)).scalar_one()


def test_a_critical_whistle_on_friday_night_is_due_thirty_minutes_later_and_supervised(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        critical = whistled(s, "critical")
        normal = whistled(s, None)
        c, n = engine.get_case(s, critical), engine.get_case(s, normal)
        assert (c.urgency, n.urgency) == ("critical", "normal")
        # Clock time: the called department reports within 30 minutes of the whistle, at night.
        assert task_of(s, critical).report_due_at == sh(2026, 11, 27, 22, 35)
        # Working time: 4 working hours from Monday 08:30.
        assert task_of(s, normal).report_due_at == sh(2026, 11, 30, 14, 0)
        opened = events(s, critical, "case.opened")[0]
        assert opened.data["urgency"] == "critical"
        # The first response was due 15 minutes after the report (the scheme's default).
        accept = next(e for e in events(s, critical) if e.trigger == "accept")
        assert accept.data["left"]["due_at"] == "2026-11-27T14:15:00.000000Z"
        late_task, normal_task = task_of(s, critical).id, task_of(s, normal).id
    r = sweep(sessions, sh(2026, 11, 27, 22, 40))
    assert r.supervisions == 1
    with sessions() as s:
        sup = s.execute(select(Supervision)).scalar_one()
        assert (sup.case_id, sup.holder, sup.task_id) == (critical, "D-ZJ", late_task)
        assert task_of(s, critical).light == "red"
        # The normal case over the same weekend is untouched.
        assert task_of(s, normal).light == "green"
    # Sweeps through the weekend change nothing for the normal case (the critical one's street
    # stage, 4 clock hours, is late by now too).
    sweep(sessions, sh(2026, 11, 29, 20))
    with sessions.begin() as s:
        supervised = set(s.execute(select(Supervision.case_id)).scalars())
        assert supervised == {critical}
        assert s.get(Task, normal_task).light == "green"  # type: ignore[union-attr]
        tasks.step(s, late_task, "report", staff_of("D-ZJ"), now=sh(2026, 11, 27, 23))
        [ev] = events(s, critical, "task.reported")
        assert (ev.data["left"]["late"], ev.data["response_late"]) == (True, True)
    with sessions() as s:
        assert list(differences(s)) == []


def test_raising_urgency_puts_the_stage_on_clock_time_with_a_reason_in_the_trail(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        cid = whistled(s, None)
        with pytest.raises(InvalidInput):
            urgency.set_urgency(s, case_id=cid, actor=STREET, urgency="critical", reason=" ")
        with pytest.raises(InvalidInput):
            urgency.set_urgency(s, case_id=cid, actor=STREET, urgency="panic", reason="x")
        with pytest.raises(NotHolder):
            urgency.set_urgency(
                s,
                case_id=cid,
                actor=Actor("o", "W-XGZ-01", "clerk"),
                urgency="critical",
                reason="火情",
            )
        version = engine.get_case(s, cid).version
        ev = urgency.set_urgency(
            s,
            case_id=cid,
            actor=STREET,
            urgency="critical",
            reason="发现明火，升级特急",
            now=sh(2026, 11, 27, 23),
        )
        assert (ev.action, ev.reason, ev.data["change"]) == (
            "case.urgency_changed",
            "发现明火，升级特急",
            "raised",
        )
        case = engine.get_case(s, cid)
        assert case.version == version  # not a transition
        # The called department's report: 30 minutes from the change, not from the whistle.
        assert task_of(s, cid).report_due_at == sh(2026, 11, 27, 23, 30)
        assert ev.data["tasks"] == [task_of(s, cid).id]
        with pytest.raises(Conflict):
            urgency.set_urgency(s, case_id=cid, actor=STREET, urgency="critical", reason="again")
        urgency.set_urgency(
            s,
            case_id=cid,
            actor=STREET,
            urgency="normal",
            reason="误报，恢复一般",
            now=sh(2026, 11, 27, 23, 10),
        )
        assert task_of(s, cid).report_due_at == sh(2026, 11, 30, 14, 0)
    with sessions() as s:
        assert list(differences(s)) == []
        assert s.execute(select(Case.urgency).where(Case.id == cid)).scalar_one() == "normal"


def test_stages_late_at_one_instant_are_listed_by_each_ones_own_clock(
    sessions: sessionmaker[Session],
) -> None:
    """Cases whose stages fall due at the same instant (a limit in working days ends when a
    day's work does) are listed 16 hours after it by their own clocks, in one sweep: working
    hours for a normal case, clock hours for an urgent or a critical one."""
    due = sh(2026, 11, 26, 17, 30)  # Thursday, the end of the day's work
    with sessions.begin() as s:
        ids = {level: accepted(s, level, sh(2026, 11, 26, 9, 0)) for level in (None, "urgent")}
        ids["critical"] = accepted(s, "critical", sh(2026, 11, 26, 9, 0))
        ids["normal too"] = accepted(s, None, sh(2026, 11, 26, 9, 0))
        for case_id in ids.values():
            s.get(Case, case_id).stage_due_at = due  # type: ignore[union-attr]
    sweep(sessions, sh(2026, 11, 26, 18, 0))
    with sessions() as s:
        list_at = dict(s.execute(select(Supervision.case_id, Supervision.list_at)).all())
    # Working hours (08:30-12:00, 13:30-17:30): Friday's 7.5, Monday's 7.5, then one on
    # Tuesday morning.
    assert list_at[ids[None]] == list_at[ids["normal too"]] == sh(2026, 12, 1, 9, 30)
    # Clock hours: Friday 09:30.
    assert list_at[ids["urgent"]] == list_at[ids["critical"]] == sh(2026, 11, 27, 9, 30)
