"""申诉: the handling unit appeals a rating it believes unfair; the district decides. An upheld
appeal takes the rating out of the appraisal, with the reason in the trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.audit import chain
from workflow.catalog import registry
from workflow.errors import Conflict, InvalidInput, NotFound, NotHolder
from workflow.feedback import APPEAL_DECIDED, APPEALED
from workflow.inputs import check_text
from workflow.store.models import Appeal, Feedback

MAX_REASON = 4000


def _reason(value: Any, name: str = "reason") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(errors={name: ["required"]}, code="a_required", params={"field": name})
    if len(value) > MAX_REASON:
        raise InvalidInput(
            errors={name: [f"at most {MAX_REASON}"]}, code="the_too_long", params={"field": name}
        )
    check_text(**{name: value})
    return value.strip()


def is_district_admin(session: Session, actor: Actor) -> bool:
    unit = registry.units(session).units.get(actor.unit or "")
    return actor.role == "admin" and unit is not None and unit.kind == "district"


def appeal(
    session: Session,
    rating_id: int,
    actor: Actor,
    *,
    reason: Any,
    now: dt.datetime | None = None,
) -> Appeal:
    now = now or dt.datetime.now(dt.UTC)
    text = _reason(reason)
    chain.lock_head(session)
    fb = session.get(Feedback, rating_id, populate_existing=True)
    if fb is None or fb.status != "given":
        raise NotFound(code="no_rating", params={"rating": rating_id})
    if actor.unit is None or actor.unit != fb.handler or actor.role in ("auditor", "callback"):
        raise NotHolder(code="rating_appealer", params={"unit": fb.handler})
    if session.execute(select(Appeal.id).where(Appeal.feedback_id == rating_id)).first():
        raise Conflict(code="rating_appealed", params={"rating": rating_id})
    row = Appeal(
        feedback_id=fb.id,
        case_id=fb.case_id,
        unit=actor.unit,
        reason=text,
        status="pending",
        appealed_by=actor.label,
        appealed_at=now,
    )
    session.add(row)
    session.flush()
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action=APPEALED,
        case_id=fb.case_id,
        data={"appeal": row.id, "rating": fb.id, "reason": text},
    )
    return row


def decide(
    session: Session,
    appeal_id: int,
    actor: Actor,
    *,
    uphold: Any,
    reason: Any,
    now: dt.datetime | None = None,
) -> Appeal:
    now = now or dt.datetime.now(dt.UTC)
    if not isinstance(uphold, bool):
        raise InvalidInput(errors={"uphold": ["true or false"]}, code="uphold_bool")
    text = _reason(reason)
    chain.lock_head(session)
    row = session.get(Appeal, appeal_id, populate_existing=True)
    if row is None:
        raise NotFound(code="no_appeal", params={"appeal": appeal_id})
    if not is_district_admin(session, actor):
        raise NotHolder(code="appeal_decider")
    if row.status != "pending":
        raise Conflict(code="appeal_decided", params={"appeal": appeal_id})
    row.status = "upheld" if uphold else "rejected"
    row.decided_by = actor.label
    row.decided_at = now
    row.decision_reason = text
    if uphold:
        fb = session.get(Feedback, row.feedback_id)
        assert fb is not None
        fb.excluded = True
    session.flush()
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action=APPEAL_DECIDED,
        case_id=row.case_id,
        data={"appeal": row.id, "rating": row.feedback_id, "uphold": uphold, "reason": text},
    )
    return row
