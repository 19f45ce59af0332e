"""Which cases a caller may see. Outside scope is NotFound (the case's existence is not told);
inside scope but not permitted is the engine's NotHolder.

- a clerk: the cases of their workstation;
- street office staff and administrators: every case of their street (its workstations and its
  stationed agencies); a district administrator: every case;
- agency and department staff, and the staff of a community committee or the street party
  working committee: the cases they hold or have held (per the trail);
- a dispatcher: at the district's centre (12345) every case; at a street's (12349) the cases
  of its street and those the centre holds or has held;
- an auditor: at the district every case, elsewhere their unit's cases, the part of the trail
  they read (workflow.privacy); an auditor changes nothing: no route lets an auditor fire."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select, true
from sqlalchemy.orm import Session

from workflow import privacy
from workflow.actors import Actor
from workflow.catalog import registry
from workflow.errors import NotFound
from workflow.runtime import engine
from workflow.store.models import Case

# Integer ids beyond this are not ours (and would overflow PostgreSQL's integer).
MAX_ID = 2**31 - 1


def unit_kind(session: Session, unit: str | None) -> str | None:
    u = registry.units(session).units.get(unit or "")
    return u.kind if u else None


def case_filter(session: Session, actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause selecting the cases ACTOR may see."""
    unit = actor.unit or ""
    if actor.role == "auditor":
        return privacy.auditor_cases(session, actor)
    kind = unit_kind(session, unit)
    if actor.role == "admin" and kind == "district":
        return true()
    if actor.role == "clerk":
        return Case.workstation == unit
    if kind == "street_office" and actor.role in ("staff", "admin"):
        return Case.street == unit
    if actor.role == "dispatcher":
        # The district's 12345 centre follows every case (it takes the calls about them and
        # finds their duplicates); a street's 12349 its street's, and what it has held.
        street = registry.units(session).street_of(unit)
        if street is None:
            return true()
        return or_(Case.street == street, privacy.held_by_each(unit))
    if actor.role == "staff":
        return privacy.held_by(unit)
    return Case.id.is_(None)  # nothing


def of_cases_seen(session: Session, actor: Actor, case_id: Any) -> ColumnElement[bool]:
    """Rows whose CASE_ID is of a case ACTOR may see, for a condition OR-ed with others (a
    supervision or an extension addressed to the unit). On PostgreSQL asked of each row by the
    case's primary key: under an OR, `IN (the cases seen)` became a subplan, hashed while the
    set fits in work_mem and otherwise read whole again for each row (a street's open
    supervisions at five million cases, 520,000 cases: a count did not end in 80 s)."""
    seen = select(Case.id)
    if session.get_bind().dialect.name != "postgresql":
        return case_id.in_(seen.where(case_filter(session, actor)))
    # (OFFSET 0 keeps it a question of each row, as privacy.trail_part's.)
    return exists(seen.where(Case.id == case_id, case_filter(session, actor)).offset(0))


def held_scope(session: Session, actor: Actor) -> bool:
    """Whether ACTOR's scope is privacy.held_by (the cases their unit holds or has held): what
    their unit holds now is then in scope by itself, unasked."""
    return actor.role == "staff" and unit_kind(session, actor.unit) != "street_office"


def _decided(session: Session, actor: Actor, case: Case) -> bool | None:
    """case_filter()'s answer for CASE where it is a plain comparison of the case's own columns
    (a clerk's workstation, a street office's street, the district's administrator), worked
    out on the case as loaded; None where it needs the database (the units a case passed
    through, an auditor's rule)."""
    if actor.role == "auditor":
        return None
    unit = actor.unit or ""
    if actor.role == "clerk":
        return case.workstation == unit
    if actor.role in ("staff", "admin"):
        kind = unit_kind(session, unit)
        if actor.role == "admin" and kind == "district":
            return True
        if kind == "street_office":
            return case.street == unit
    return None


def in_scope(session: Session, actor: Actor, case: Case) -> bool:
    decided = _decided(session, actor, case)
    if decided is not None:
        return decided
    return bool(
        session.execute(
            select(exists().where(Case.id == case.id, case_filter(session, actor)))
        ).scalar()
    )


def get_case(session: Session, actor: Actor, case_id: int) -> Case:
    """The case when ACTOR may see it; NotFound (404) otherwise, the same as no such case."""
    if not 1 <= case_id <= MAX_ID:
        raise NotFound(code="no_case", params={"case": case_id})
    case = engine.get_case(session, case_id)
    # The holder always sees its case: the common path of a firing needs no scope query.
    if actor.unit is not None and actor.unit == case.holder:
        return case
    if not in_scope(session, actor, case):
        raise NotFound(code="no_case", params={"case": case_id})
    return case


def visible_row(session: Session, model: Any, row_id: int, where: ColumnElement[bool]) -> Any:
    """The row of MODEL with ROW_ID matching WHERE (the caller's scope); NotFound otherwise."""
    name = model.__tablename__.rstrip("s")
    if not 1 <= row_id <= MAX_ID:
        raise NotFound(code="no_such", params={"what": name, "id": row_id})
    row = session.execute(select(model).where(model.id == row_id, where)).scalar_one_or_none()
    if row is None:
        raise NotFound(code="no_such", params={"what": name, "id": row_id})
    return row
