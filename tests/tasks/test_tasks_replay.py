"""Replay rebuilds every task row from its steps on the trail: a row changed behind the
service's back is named, field by field; verify and replay agree on an untouched trail."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, staff_of
from tests.tasks.helpers import STREET, at_street
from workflow.audit.replay import differences
from workflow.audit.verify import verify
from workflow.runtime import engine, sla, tasks

HOUR = dt.timedelta(hours=1)


def test_replay_names_a_task_row_edited_behind_the_services_back(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        cid = at_street(s, "PS-06")
        engine.fire(s, cid, "whistle", STREET, reason="联合处置", targets=["D-GA", "D-ZJ"], now=T0)
        engine.fire(s, cid, "whistle", STREET, reason="增派", targets=["D-ZF"], now=T0 + HOUR)
        ga, zj, zf = (t.id for t in tasks.round_tasks(s, cid, engine.get_case(s, cid).stage_seq))
        tasks.step(s, ga, "report", staff_of("D-GA"), now=T0 + HOUR)
        tasks.step(s, zj, "cancel", STREET, reason="不涉及", now=T0 + HOUR)
        ext = sla.request_extension(
            s, case_id=cid, actor=staff_of("D-ZF"), reason="协调", days=1, task_id=zf, now=T0 + HOUR
        )
        sla.decide_extension(
            s, extension_id=ext.id, actor=staff_of("X-SN"), approve=True, now=T0 + HOUR
        )
        tasks.step(s, ga, "done", staff_of("D-GA"), result="已处置", now=T0 + 2 * HOUR)
        tasks.step(s, ga, "send_back", STREET, reason="补充", now=T0 + 2 * HOUR)
    with sessions() as s:
        assert verify(s, "secret").ok
        assert list(differences(s)) == []
    with sessions.begin() as s:
        s.execute(
            text("UPDATE tasks SET status = 'done', result = '伪造' WHERE id = :id"), {"id": zf}
        )
    with sessions() as s:
        found = {(d.kind, d.id, d.field) for d in differences(s)}
    assert found == {("task", zf, "status"), ("task", zf, "result")}
    # An extension moved from the department's task to another task: named too.
    with sessions.begin() as s:
        s.execute(
            text("UPDATE extensions SET task_id = :t WHERE id = :id"), {"t": ga, "id": ext.id}
        )
    with sessions() as s:
        found = {(d.kind, d.id, d.field) for d in differences(s)}
    assert ("extension", ext.id, "task_id") in found
