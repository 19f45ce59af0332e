"""Parallel tasks in the engine: a joint whistle opens one task per department, the street keeps
the case, and the state is left only when the join holds."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, staff_of
from tests.tasks.helpers import STREET, at_street
from workflow.errors import InvalidInput, NotAllowed, NotHolder, StaleVersion
from workflow.runtime import engine, tasks
from workflow.store.models import Task, TrailEvent

HOUR = dt.timedelta(hours=1)


def whistle(s: Session, cid: int, targets: list[str], **kw: object) -> None:
    engine.fire(
        s,
        cid,
        "whistle",
        STREET,
        reason="多部门职责交叉，需联合处置",
        targets=targets,
        now=T0,
        **kw,
    )  # type: ignore[arg-type]


def by_unit(s: Session, cid: int) -> dict[str, Task]:
    return {t.unit: t for t in s.execute(select(Task).where(Task.case_id == cid)).scalars()}


def test_a_joint_whistle_keeps_the_case_with_the_street_until_every_part_is_done(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        cid = at_street(s, "PS-06")
        whistle(s, cid, ["D-GA", "D-ZJ", "D-ZF"])
        case = engine.get_case(s, cid)
        assert (case.state, case.holder) == ("coordinating", "S-ZHL")
        t = by_unit(s, cid)
        assert [t[u].status for u in ("D-GA", "D-ZJ", "D-ZF")] == ["awaiting_report"] * 3
        assert [t[u].lead for u in ("D-GA", "D-ZJ", "D-ZF")] == [True, False, False]
        assert all(x.report_due_at is not None for x in t.values())
        # A department neither resolves nor sends the case back: it does not hold it.
        with pytest.raises(NotHolder):
            engine.fire(s, cid, "resolve", staff_of("D-GA"), now=T0)
    with sessions.begin() as s, pytest.raises(NotAllowed, match="D-GA, D-ZJ, D-ZF"):
        engine.fire(s, cid, "resolve", STREET, now=T0)
    with sessions.begin() as s:
        t = by_unit(s, cid)
        for unit in ("D-GA", "D-ZJ", "D-ZF"):
            tasks.step(s, t[unit].id, "report", staff_of(unit), now=T0 + HOUR)
        tasks.step(
            s, t["D-GA"].id, "done", staff_of("D-GA"), result="已出警劝离", now=T0 + 2 * HOUR
        )
        tasks.step(
            s, t["D-ZJ"].id, "done", staff_of("D-ZJ"), result="已核查产权", now=T0 + 2 * HOUR
        )
    with sessions.begin() as s, pytest.raises(NotAllowed, match="D-ZF"):
        engine.fire(s, cid, "resolve", STREET, now=T0 + 3 * HOUR)
    with sessions.begin() as s:
        t = by_unit(s, cid)
        tasks.step(s, t["D-ZF"].id, "done", staff_of("D-ZF"), result="已拆除", now=T0 + 3 * HOUR)
        # The street sends a part back: the join no longer holds until it is done again.
        tasks.step(s, t["D-ZJ"].id, "send_back", STREET, reason="缺少核查记录", now=T0 + 3 * HOUR)
    with sessions.begin() as s, pytest.raises(NotAllowed, match="D-ZJ"):
        engine.fire(s, cid, "resolve", STREET, now=T0 + 4 * HOUR)
    with sessions.begin() as s:
        t = by_unit(s, cid)
        tasks.step(
            s, t["D-ZJ"].id, "done", staff_of("D-ZJ"), result="补充核查记录", now=T0 + 4 * HOUR
        )
        engine.fire(s, cid, "resolve", STREET, now=T0 + 5 * HOUR)
        assert engine.get_case(s, cid).state == "resolved"
        steps = [
            (e.action, e.data.get("task") is not None)
            for e in s.execute(
                select(TrailEvent).where(
                    TrailEvent.case_id == cid, TrailEvent.action.like("task.%")
                )
            ).scalars()
        ]
        assert len(steps) == 3 + 3 + 3 + 1 + 1 and all(has for _, has in steps)


def test_targets_are_checked_and_a_department_is_not_called_twice(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        cid = at_street(s)
    for targets in (["S-ZHL"], ["D-ZF", "D-ZF"]):
        with sessions.begin() as s, pytest.raises(InvalidInput) as exc:
            whistle(s, cid, targets)
        assert "targets" in exc.value.errors
    with sessions.begin() as s, pytest.raises(InvalidInput, match="lead"):
        whistle(s, cid, ["D-ZF"], lead="D-ZJ")
    with sessions.begin() as s:
        # Outside the item's whistle_to, with a reason (a whistle always has one): allowed.
        whistle(s, cid, ["D-ZJ", "D-GA"], lead="D-GA")
        assert {u: t.lead for u, t in by_unit(s, cid).items()} == {"D-ZJ": False, "D-GA": True}
    with sessions.begin() as s, pytest.raises(InvalidInput, match="already"):
        whistle(s, cid, ["D-ZJ"])
    with sessions.begin() as s:
        # A department added later is an assistant and joins the same round.
        whistle(s, cid, ["D-ZF"])
        t = by_unit(s, cid)
        assert t["D-ZF"].lead is False and t["D-ZF"].round == t["D-GA"].round
        assert engine.get_case(s, cid).state == "coordinating"


def test_who_takes_which_step_and_stale_versions(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as s:
        cid = at_street(s)
        whistle(s, cid, ["D-ZF", "D-ZJ"])
        t = by_unit(s, cid)
        zf, zj = t["D-ZF"].id, t["D-ZJ"].id
    with sessions.begin() as s, pytest.raises(NotHolder):
        tasks.step(s, zf, "report", staff_of("D-ZJ"), now=T0)
    with sessions.begin() as s, pytest.raises(NotHolder):
        tasks.step(s, zf, "cancel", staff_of("D-ZF"), reason="不是我们的", now=T0)
    with sessions.begin() as s, pytest.raises(NotAllowed):
        tasks.step(s, zf, "done", staff_of("D-ZF"), result="x", now=T0)
    with sessions.begin() as s, pytest.raises(StaleVersion):
        tasks.step(s, zf, "report", staff_of("D-ZF"), expected_version=7, now=T0)
    with sessions.begin() as s:
        tasks.step(s, zf, "report", staff_of("D-ZF"), expected_version=1, now=T0)
    with sessions.begin() as s, pytest.raises(InvalidInput):
        tasks.step(s, zf, "done", staff_of("D-ZF"), result=" ", now=T0)
    with sessions.begin() as s, pytest.raises(InvalidInput):
        tasks.step(s, zj, "cancel", STREET, now=T0)
    with sessions.begin() as s:
        tasks.step(s, zj, "cancel", STREET, reason="非其职责", now=T0)
        tasks.step(s, zf, "done", staff_of("D-ZF"), result="已处理", now=T0 + HOUR)
        # Cancelled and done: the join holds.
        engine.fire(s, cid, "resolve", STREET, now=T0 + HOUR)
    with sessions.begin() as s, pytest.raises(NotAllowed, match="moved on"):
        tasks.step(s, zf, "send_back", STREET, reason="重做", now=T0 + HOUR)


def test_a_whistle_naming_no_department_calls_the_lists_lead_and_assisting_units(
    sessions: sessionmaker[Session],
) -> None:
    # PS-06: the list names D-GA to lead, D-ZJ and D-ZF to assist (属地管理).
    with sessions.begin() as s:
        cid = at_street(s, "PS-06")
        whistle(s, cid, [])
        assert {u: t.lead for u, t in by_unit(s, cid).items()} == {
            "D-GA": True,
            "D-ZJ": False,
            "D-ZF": False,
        }
    # Called already, all of them: nobody is left to call by default.
    with sessions.begin() as s, pytest.raises(InvalidInput, match="no department left"):
        whistle(s, cid, [])
