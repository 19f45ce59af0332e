"""Cases at Zhuhai Road brought to the street, ready for a whistle."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from tests.conftest import T0
from workflow.actors import Actor
from workflow.audit import chain
from workflow.catalog import registry
from workflow.runtime import engine
from workflow.spec.loader import read_route_text
from workflow.spec.model import RouteSpec
from workflow.spec.serialize import route_to_data

CLERK = Actor("clerk", "W-ZHL-01", "clerk")
STREET = Actor("street", "S-ZHL", "staff")


def at_street(
    s: Session, item: str = "UD-01", now: dt.datetime = T0, *, clerk: Actor = CLERK
) -> int:
    """A case of ITEM (UD-01: whistle_to D-ZF, D-ZJ) held by the street office, opened at
    CLERK's workstation."""
    case = engine.open_case(
        s,
        item=item,
        workstation=clerk.unit,
        actor=clerk,
        applicant_name="李娜",
        applicant_phone="13912345678",
        description="小区旁违建占道，多部门职责交叉",
        now=now,
    )
    engine.fire(s, case.id, "accept", clerk, now=now)
    engine.fire(s, case.id, "forward", clerk, now=now)
    return case.id


OLD_INCIDENT = Path(__file__).with_name("incident_before_tasks.yaml")


def old_incident_route() -> RouteSpec:
    """The incident route as it was before tasks: a department held a whistled case and
    resolved or sent it back alone (cases opened then stay pinned to it)."""
    route, problems = read_route_text(OLD_INCIDENT.read_text(encoding="utf-8"), OLD_INCIDENT.name)
    assert route is not None and not problems, problems
    return route


def publish_old_incident(s: Session) -> int:
    """Publish old_incident_route() as the latest version: new cases start on it. Its version."""
    route = old_incident_route()
    chain.lock_head(s)
    registry.publish_one(s, "route", "incident", route_to_data(route), actor="admin", now=T0)
    return registry.route(s, "incident")[1]
