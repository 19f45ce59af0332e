"""Cases at Zhuhai Road brought to the street, ready for a whistle."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from tests.conftest import T0
from workflow.runtime import engine
from workflow.runtime.machines import Actor

CLERK = Actor("clerk", "W-ZHL-01", "clerk")
STREET = Actor("street", "S-ZHL", "staff")


def at_street(s: Session, item: str = "UD-01", now: dt.datetime = T0) -> int:
    """A case of ITEM (UD-01: whistle_to D-ZF, D-ZJ) held by the street office."""
    case = engine.open_case(
        s,
        item=item,
        workstation="W-ZHL-01",
        actor=CLERK,
        applicant_name="李娜",
        applicant_phone="13912345678",
        description="小区旁违建占道，多部门职责交叉",
        now=now,
    )
    engine.fire(s, case.id, "accept", CLERK, now=now)
    engine.fire(s, case.id, "forward", CLERK, now=now)
    return case.id
