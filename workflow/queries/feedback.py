"""The lists of the resident's voice: the callback queue (feedback), rectifications, appeals.

Keyword-only functions taking the session and the actor, called by the API and the console
alike; keyset pages (newest first, ``after`` = the last id of the previous page). Who sees what:
- a callback operator: at the district everything, at a street its street's;
- a district administrator or auditor: everything; a street's staff, administrators or
  auditors: their street's; a department's auditor: the cases it held (its part of the trail);
- a clerk: their workstation's cases;
- any other unit: what it handled (or commanded), its rectifications and appeals."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from workflow import privacy
from workflow.actors import Actor
from workflow.catalog import registry
from workflow.errors import InvalidInput, NotFound
from workflow.queries.paging import Page, page
from workflow.store.models import Appeal, Case, Feedback, Rectification

FEEDBACK_STATUSES = ("pending", "given")
RECTIFICATION_STATUSES = ("open", "reported")
APPEAL_STATUSES = ("pending", "upheld", "rejected")
PER_PAGE = 50
MAX_PER_PAGE = 100


def _reach(session: Session, actor: Actor) -> tuple[str, str | None]:
    """('all' | 'street' | 'workstation' | 'unit' | 'auditor' | 'none', the unit)."""
    unit = registry.units(session).units.get(actor.unit or "")
    if unit is None:
        return "none", None
    if actor.role == "auditor" and unit.kind not in ("district", "street_office"):
        # A department's auditor reviews the ratings of its unit's part of the trail (the
        # cases it held), as it reads their events: the satisfaction rate is appraised.
        return "auditor", unit.code
    if unit.kind == "district" and actor.role in ("callback", "admin", "auditor"):
        return "all", None
    if unit.kind == "street_office" and actor.role in ("callback", "admin", "staff", "auditor"):
        return "street", unit.code
    if actor.role == "clerk":
        return "workstation", unit.code
    if actor.role in ("staff", "admin"):
        return "unit", unit.code
    return "none", None


def _where(
    session: Session, actor: Actor, model: Any, case: int | None = None
) -> ColumnElement[bool]:
    """Who sees what (the module's docstring); CASE: only that case's rows are asked for, so
    that a scope by cases is checked for that case alone (SQLite otherwise lists every case of
    the scope first: 2 ms for a workstation at a million cases)."""
    reach, code = _reach(session, actor)
    if reach == "all":
        return true()
    if reach == "none":
        return model.id.is_(None)
    case_ids = select(Case.id) if case is None else select(Case.id).where(Case.id == case)
    if reach == "street":
        return model.case_id.in_(case_ids.where(Case.street == code))
    if reach == "workstation":
        return model.case_id.in_(case_ids.where(Case.workstation == code))
    if reach == "auditor":
        return model.case_id.in_(case_ids.where(privacy.auditor_cases(session, actor)))
    if model is Feedback:
        return or_(Feedback.handler == code, Feedback.commander == code)
    return model.unit == code


def _page(
    session: Session,
    model: Any,
    where: list[ColumnElement[bool]],
    after: int | None,
    limit: int | None,
) -> Page[Any]:
    limit = min(max(1, limit or PER_PAGE), MAX_PER_PAGE)
    return page(session, model, where, key=model.id, after=after, limit=limit, count=False)


def _status(value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise InvalidInput(
            errors={"status": list(allowed)},
            code="status_one_of",
            params={"allowed": list(allowed)},
        )


def feedback(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    case: int | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> Page[Feedback]:
    """The callback queue (status=pending) and the answers given (status=given)."""
    _status(status, FEEDBACK_STATUSES)
    where = [_where(session, actor, Feedback, case)]
    if status:
        where.append(Feedback.status == status)
    if case is not None:
        where.append(Feedback.case_id == case)
    return _page(session, Feedback, where, after, limit)


def rectifications(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> Page[Rectification]:
    _status(status, RECTIFICATION_STATUSES)
    where = [_where(session, actor, Rectification)]
    if status:
        where.append(Rectification.status == status)
    return _page(session, Rectification, where, after, limit)


def appeals(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    after: int | None = None,
    limit: int | None = None,
) -> Page[Appeal]:
    _status(status, APPEAL_STATUSES)
    where = [_where(session, actor, Appeal)]
    if status:
        where.append(Appeal.status == status)
    return _page(session, Appeal, where, after, limit)


def one(session: Session, *, actor: Actor, model: Any, row_id: int) -> Any:
    """One row of MODEL that ACTOR may see; NotFound otherwise (as for no such row)."""
    row = session.execute(
        select(model).where(model.id == row_id, _where(session, actor, model))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            code="no_such", params={"what": model.__tablename__.rstrip("s"), "id": row_id}
        )
    return row


def may_see_link(session: Session, *, actor: Actor, fb: Feedback) -> bool:
    """The link's code is shown to who hands it to the resident: the case's workstation (the QR
    code at the window) and callback operators (an SMS, a call)."""
    if fb.status != "pending" or fb.code is None:
        return False
    if actor.role == "callback":
        return _reach(session, actor)[0] in ("all", "street")
    if actor.role == "clerk":
        case = session.get(Case, fb.case_id)
        return case is not None and case.workstation == actor.unit
    return False
