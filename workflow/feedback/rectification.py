"""整改: a 差评 asks the handling unit to put things right within a limit; its report brings a
second 回访."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import config
from workflow.actors import Actor
from workflow.audit import chain
from workflow.errors import Conflict, InvalidInput, NotFound, NotHolder
from workflow.feedback import RECTIFICATION_OPENED, RECTIFICATION_REPORTED, links
from workflow.inputs import check_text
from workflow.store.models import Case, Feedback, Rectification

MAX_REPORT = 4000


def open_for(session: Session, fb: Feedback, *, now: dt.datetime) -> Rectification:
    from workflow.runtime.engine import work_calendar  # the engine calls into this package

    assert fb.handler is not None
    row = Rectification(
        feedback_id=fb.id,
        case_id=fb.case_id,
        unit=fb.handler,
        status="open",
        opened_at=now,
        due_at=work_calendar(session).add_working_days(now, config.of(session).rectification_days),
    )
    session.add(row)
    session.flush()
    chain.append(
        session,
        at=now,
        actor="system",
        unit=fb.handler,
        action=RECTIFICATION_OPENED,
        case_id=fb.case_id,
        data={
            "rectification": row.id,
            "rating": fb.id,
            "unit": fb.handler,
            "due_at": chain.format_at(row.due_at),
        },
    )
    return row


def report(
    session: Session,
    rectification_id: int,
    actor: Actor,
    *,
    text: Any,
    now: dt.datetime | None = None,
) -> Rectification:
    """The handling unit reports what it did; the resident is asked again (a second round)."""
    now = now or dt.datetime.now(dt.UTC)
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(errors={"report": ["required"]}, code="say_what_was_done")
    if len(text) > MAX_REPORT:
        raise InvalidInput(
            errors={"report": [f"at most {MAX_REPORT}"]},
            code="the_too_long",
            params={"field": "report"},
        )
    check_text(report=text)
    chain.lock_head(session)
    row = session.execute(
        select(Rectification)
        .where(Rectification.id == rectification_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(code="no_rectification", params={"rectification": rectification_id})
    if actor.unit != row.unit or actor.role in ("auditor", "callback"):
        raise NotHolder(code="rectification_reporter", params={"unit": row.unit})
    if row.status != "open":
        raise Conflict(code="rectification_reported", params={"rectification": rectification_id})
    row.status = "reported"
    row.report = text.strip()
    row.reported_at = now
    row.reported_by = actor.label
    case = session.get(Case, row.case_id)
    assert case is not None
    fb = session.get(Feedback, row.feedback_id)
    assert fb is not None
    again = links.ask(session, case, now=now, round=fb.round + 1)
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action=RECTIFICATION_REPORTED,
        case_id=row.case_id,
        data={
            "rectification": row.id,
            "rating": row.feedback_id,
            "report": row.report,
            "late": now > row.due_at,
            "revisit": again.id,
        },
    )
    return row
