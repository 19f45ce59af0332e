"""A hand-built November 2026 at Zhuhai Road, driven through the engine with `now=`.

Item UD-01 (incident): response limit 4 working hours; workstation 2, street 4, agency 4,
department 4 working days; agency ZF (A-ZHL-ZF); whistle to D-ZF or D-ZJ. Item SW-10 (local):
workstation 1 working day, no response limit. Working hours 08:30-12:00 and 13:30-17:30.

Case A: accepted in time, resolved, reopened, resolved again, confirmed; rated 5.
Case B: forwarded, dispatched to the agency, sent back to the street, whistled to D-ZF, whose
        report is late; resolved by D-ZF, confirmed late; rated 2.
Case C: SW-10, paused for materials for four days; completed in the time it had left.
Case D: accepted late; still at the workstation and overdue at the month's end.
Case E: whistled to D-ZJ, reported in time, sent back by D-ZJ, resolved by the street; waits for
        the resident's confirmation past its limit at the month's end.

The incidents run on the incident route as it was before tasks (a department held a whistled
case and resolved or sent it back alone), published first: the numbers worked out by hand
below are for that route. Tasks are measured in tests/tasks.

This month is measured by the scheme as it stood before 好差评 (no `credit`): ratings entered
at the window (`case.rated` events), resolution by the clerk's confirm, units without cases
ranked. Trails and frozen records from those days must keep their numbers; the resident's
answers and fair ranking are tested in tests/appraisal/test_fair_month.py."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import staff_of
from tests.tasks.helpers import publish_old_incident
from workflow.actors import Actor
from workflow.audit import chain
from workflow.catalog import registry
from workflow.runtime import engine

SHANGHAI = ZoneInfo("Asia/Shanghai")
CLERK = Actor("clerk", "W-ZHL-01", "clerk")
STREET = staff_of("S-ZHL")
AGENCY = staff_of("A-ZHL-ZF")
D_ZF = staff_of("D-ZF")
D_ZJ = staff_of("D-ZJ")
STREET_ADMIN = Actor("admin", "S-ZHL", "admin")


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


def nov(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return at(11, day, hour, minute)


def open_case(s: Session, item: str, when: dt.datetime) -> int:
    return engine.open_case(
        s,
        item=item,
        workstation="W-ZHL-01",
        actor=CLERK,
        applicant_name="李娜",
        applicant_phone="13912345678",
        now=when,
    ).id


def fire(s: Session, case: int, trigger: str, actor: Actor, when: dt.datetime, **kw: str) -> None:
    if trigger in ("reopen", "send_back", "whistle", "request_materials"):
        kw.setdefault("reason", "理由")
    engine.fire(s, case, trigger, actor, now=when, **kw)


def publish_old_scheme(s: Session, when: dt.datetime) -> None:
    """The shipped scheme as it was before 好差评: no credit, no minimum, no `from`."""
    content = dict(registry.latest_row(s, "appraisal", "appraisal").content)  # type: ignore[union-attr]
    for key in ("credit", "min_cases", "from"):
        content.pop(key, None)
    chain.lock_head(s)
    registry.publish_one(s, "appraisal", "appraisal", content, actor="test", now=when)


def old_rating(s: Session, case: int, score: int, when: dt.datetime) -> None:
    """A rating as the window entered it before 好差评: a `case.rated` event in the trail."""
    chain.lock_head(s)
    row = engine.get_case(s, case)
    chain.append(
        s,
        at=when,
        actor=CLERK.label,
        unit=CLERK.unit,
        action="case.rated",
        case_id=case,
        to_state=row.state,
        data={"score": score, "holder": row.holder},
    )


def build_november(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions.begin() as s:
        publish_old_scheme(s, nov(1, 8))
        publish_old_incident(s)
    with sessions.begin() as s:
        a = open_case(s, "UD-01", nov(2, 9))
        fire(s, a, "accept", CLERK, nov(2, 10))  # reported due 14:30: in time
        fire(s, a, "resolve", CLERK, nov(3, 10))  # ws_handling due Nov 4 17:30
        fire(s, a, "reopen", CLERK, nov(4, 9))  # resolved due Nov 5 17:30
        fire(s, a, "resolve", CLERK, nov(5, 9))  # ws_handling due Nov 6 17:30
        fire(s, a, "confirm", CLERK, nov(5, 10))  # resolved due Nov 9 17:30
        old_rating(s, a, 5, nov(5, 11))

        e = open_case(s, "UD-01", nov(2, 14))
        fire(s, e, "accept", CLERK, nov(2, 14, 10))  # reported due Nov 3 09:00
        fire(s, e, "forward", CLERK, nov(2, 14, 20))
        fire(s, e, "whistle", STREET, nov(2, 15), target="D-ZJ")  # street due Nov 6
        fire(s, e, "report", D_ZJ, nov(3, 9))  # awaiting_report due Nov 3 10:00
        fire(s, e, "send_back", D_ZJ, nov(4, 9))  # dept_handling due Nov 9 17:30
        fire(s, e, "resolve", STREET, nov(5, 9))  # street_handling due Nov 10 17:30
        # now resolved, due Nov 9 17:30, never confirmed in November

        b = open_case(s, "UD-01", nov(9, 9))
        fire(s, b, "accept", CLERK, nov(9, 9, 30))  # reported due 14:30
        fire(s, b, "forward", CLERK, nov(9, 10))
        fire(s, b, "dispatch", STREET, nov(9, 11))  # street_handling due Nov 13 17:30
        fire(s, b, "send_back", AGENCY, nov(10, 9))  # agency_handling due Nov 13 17:30
        fire(s, b, "whistle", STREET, nov(10, 10), target="D-ZF")  # street due Nov 16
        fire(s, b, "report", D_ZF, nov(11, 9))  # awaiting_report due Nov 10 15:30: late
        fire(s, b, "resolve", D_ZF, nov(12, 9))  # dept_handling due Nov 17 17:30
        fire(s, b, "confirm", CLERK, nov(17, 9))  # resolved due Nov 16 17:30: late
        old_rating(s, b, 2, nov(17, 10))

        c = open_case(s, "SW-10", nov(16, 9))
        fire(s, c, "accept", CLERK, nov(16, 9, 10))  # submitted: no response limit
        # processing due Nov 17 17:30; paused with 13.5 working hours left
        fire(s, c, "request_materials", CLERK, nov(16, 10))
        fire(s, c, "resubmit", CLERK, nov(20, 9))  # processing now due Nov 23 16:30
        fire(s, c, "complete", CLERK, nov(23, 10))

        d = open_case(s, "UD-01", nov(25, 9))
        fire(s, d, "accept", CLERK, nov(26, 9))  # reported due Nov 25 14:30: late
        # ws_handling due Nov 30 17:30, still open at the month's end
    with sessions.begin() as s:
        from workflow.appraisal.records import enter_assessment

        enter_assessment(
            s,
            actor=STREET_ADMIN,
            unit="A-ZHL-ZF",
            period="2026-11",
            score=80,
            comment="配合街道工作积极",
            now=nov(30, 16),
        )
    return {"A": a, "B": b, "C": c, "D": d, "E": e}
