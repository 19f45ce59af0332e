"""Returns (退单) as lists: who sees which, filtered, newest first, keyset-paged (after=)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.audit.chain import format_at
from workflow.catalog import registry
from workflow.errors import NotFound
from workflow.queries.paging import Page, page
from workflow.spec.practice import practice
from workflow.store.models import Case, ReturnRequest

MAX_ID = 2**31 - 1


def visible(session: Session, actor: Actor) -> ColumnElement[bool]:
    """The returns ACTOR may see: at the district (its administrators and auditors) all of them;
    elsewhere those its unit asked for, reviews, sent the case in, or received it by; a street
    office also those of its street's cases. A decision is visible to both units."""
    unit = actor.unit or ""
    u = registry.units(session).units.get(unit)
    if u is not None and u.kind == "district" and actor.role in ("admin", "auditor"):
        return true()
    if u is None:
        return ReturnRequest.id.is_(None)
    mine = or_(
        ReturnRequest.unit == unit,
        ReturnRequest.reviewer == unit,
        ReturnRequest.sender == unit,
        ReturnRequest.to_unit == unit,
        ReturnRequest.at_fault == unit,
    )
    if u.kind == "street_office":
        street_cases = select(Case.id).where(Case.street == unit)
        return or_(mine, ReturnRequest.case_id.in_(street_cases))
    return mine


def list_returns(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    unit: str | None = None,
    case: int | None = None,
    after: int | None = None,
    offset: int = 0,
    limit: int = 20,
) -> Page[ReturnRequest]:
    """The returns ACTOR may see, newest first: STATUS filters; UNIT: asked for by or reviewed
    by that unit; AFTER: the id the previous page ended at."""
    where = [visible(session, actor)]
    if status:
        where.append(ReturnRequest.status == status)
    if unit:
        where.append(or_(ReturnRequest.unit == unit, ReturnRequest.reviewer == unit))
    if case:
        where.append(ReturnRequest.case_id == case)
    return page(
        session, ReturnRequest, where, key=ReturnRequest.id, after=after, offset=offset, limit=limit
    )


def get_return(session: Session, *, actor: Actor, return_id: int) -> ReturnRequest:
    """A return ACTOR may see; NotFound otherwise (its existence is not told)."""
    if not 1 <= return_id <= MAX_ID:
        raise NotFound(code="no_return", params={"number": return_id})
    row = session.execute(
        select(ReturnRequest).where(ReturnRequest.id == return_id, visible(session, actor))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(code="no_return", params={"number": return_id})
    return row


def _iso(at: dt.datetime | None) -> str | None:
    return format_at(at) if at is not None else None


def return_json(session: Session, ret: ReturnRequest, *, now: dt.datetime) -> dict[str, Any]:
    category = practice(session).category(ret.category) or {"zh": ret.category, "en": ret.category}
    responsible = (
        ret.to_unit if ret.status == "approved" else ret.unit if ret.status == "refused" else None
    )
    return {
        "id": ret.id,
        "case": ret.case_id,
        "task": ret.task_id,
        "category": ret.category,
        "category_zh": category["zh"],
        "category_en": category["en"],
        "reason": ret.reason,
        "unit": ret.unit,
        "requested_by": ret.requested_by,
        "requested_at": _iso(ret.requested_at),
        "state": ret.state,
        "sender": ret.sender,
        "reviewer": ret.reviewer,
        "arbitration": ret.arbitration,
        "review_due_at": _iso(ret.review_due_at),
        "late": ret.review_late_at is not None
        or (ret.status == "pending" and now > ret.review_due_at),
        "status": ret.status,
        "decided_by": ret.decided_by,
        "decided_at": _iso(ret.decided_at),
        "decision_reason": ret.decision_reason,
        "to": ret.to_unit,
        "at_fault": ret.at_fault,
        "responsible": responsible,
    }
