"""After a joint whistle the street resolves, keeping command: the resident's rating is asked
for the lead department (主办) whose part was done, with the street as its commander, so that a
scheme crediting handler and commander credits both, and no assisting department."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, staff_of
from tests.tasks.helpers import CLERK, STREET, at_street
from workflow.runtime import engine, tasks
from workflow.store.models import Feedback

HOUR = dt.timedelta(hours=1)


def test_a_joint_whistle_credits_the_lead_department_under_the_street(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        cid = at_street(s, "PS-06")  # lead D-GA, assisting D-ZJ and D-ZF
        engine.fire(s, cid, "whistle", STREET, reason="联合处置", now=T0)
        for t in tasks.round_tasks(s, cid, engine.get_case(s, cid).stage_seq):
            tasks.step(s, t.id, "report", staff_of(t.unit), now=T0 + HOUR)
            tasks.step(s, t.id, "done", staff_of(t.unit), result="已处置", now=T0 + 2 * HOUR)
        engine.fire(s, cid, "resolve", STREET, now=T0 + 3 * HOUR)
        engine.fire(s, cid, "confirm", CLERK, now=T0 + 4 * HOUR)
        fb = s.execute(select(Feedback).where(Feedback.case_id == cid)).scalar_one()
        assert (fb.handler, fb.commander) == ("D-GA", "S-ZHL")
