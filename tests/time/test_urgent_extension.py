"""An extension on an urgent or critical case adds days of 24 hours on its clock (which runs
day and night), not working days; a normal case's extension stays on working days."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import staff_of
from tests.time.conftest import sh
from tests.time.test_urgency_clock import CLERK, FRIDAY_NIGHT, accepted, task_of, whistled
from workflow.runtime import engine, sla


def _extend_case(sessions: sessionmaker[Session], case_id: int) -> tuple[dt.datetime, dt.datetime]:
    with sessions() as s:
        before = engine.get_case(s, case_id).stage_due_at
    at = FRIDAY_NIGHT.replace(minute=2)
    with sessions.begin() as s:
        ext = sla.request_extension(
            s, case_id=case_id, actor=CLERK, reason="需夜间复查", days=1, now=at
        )
    with sessions.begin() as s:
        # Its supervising unit approves (the street, or the district's office for this item).
        sla.decide_extension(s, extension_id=ext.id, actor=staff_of(ext.unit), approve=True, now=at)
    with sessions() as s:
        after = engine.get_case(s, case_id).stage_due_at
    assert before is not None and after is not None
    return before, after


def test_an_urgent_cases_extension_adds_24_hours_and_a_normal_ones_a_working_day(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        urgent, normal = accepted(s, "urgent"), accepted(s, None)
    before, after = _extend_case(sessions, urgent)
    assert after - before == dt.timedelta(hours=24)
    before, after = _extend_case(sessions, normal)
    with sessions() as s:
        assert after == engine.work_calendar(s).add_working_days(before, 1)


def test_a_critical_whistle_tasks_extension_adds_24_hours(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        case_id = whistled(s, "critical")
        task = task_of(s, case_id)
        before, task_id = task.report_due_at, task.id
    assert before == sh(2026, 11, 27, 22, 35)
    at = FRIDAY_NIGHT.replace(minute=10)
    with sessions.begin() as s:
        ext = sla.request_extension(
            s,
            case_id=case_id,
            actor=staff_of("D-ZJ"),
            reason="夜间需联系产权单位",
            days=1,
            task_id=task_id,
            now=at,
        )
    with sessions.begin() as s:
        sla.decide_extension(s, extension_id=ext.id, actor=staff_of(ext.unit), approve=True, now=at)
    with sessions() as s:
        assert task_of(s, case_id).report_due_at == sh(2026, 11, 28, 22, 35)
