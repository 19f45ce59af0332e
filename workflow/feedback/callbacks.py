"""The resident's answer, by the one-time link or a callback operator's 回访 call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.audit import chain
from workflow.catalog import registry
from workflow.errors import Conflict, InvalidInput, NotAllowed, NotFound, NotHolder
from workflow.feedback import BAD_LEVELS, CHANNELS, GIVEN, LEVELS, links, rectification
from workflow.inputs import check_text
from workflow.store.models import Case, Feedback

MAX_COMMENT = 1000
RESIDENT = Actor("resident", None, "applicant")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_answer(level: Any, resolved: Any, comment: Any, channel: Any) -> str:
    errors: dict[str, list[str]] = {}
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        errors["level"] = ["a whole number from 1 (非常不满意) to 5 (非常满意)"]
    if not isinstance(resolved, bool):
        errors["resolved"] = ["true (已解决) or false (未解决)"]
    if channel not in CHANNELS:
        errors["channel"] = [f"one of {', '.join(CHANNELS)}"]
    if comment is not None and not isinstance(comment, str):
        errors["comment"] = ["text"]
    elif comment and len(comment) > MAX_COMMENT:
        errors["comment"] = [f"at most {MAX_COMMENT} characters"]
    if errors:
        raise InvalidInput("the answer is not complete or not valid", errors)
    if comment:
        check_text(comment=comment)
    return (comment or "").strip()


def may_call(session: Session, actor: Actor, case: Case, fb: Feedback) -> None:
    """A callback operator of the district, or of the case's street; never the handling unit."""
    if actor.role != "callback" or not actor.unit:
        raise NotHolder("a 回访 is recorded by a callback operator")
    unit = registry.units(session).units.get(actor.unit)
    if unit is None or (unit.kind != "district" and actor.unit != case.street):
        raise NotHolder(f"a callback operator of the district or of {case.street} calls back")
    if actor.unit in (fb.handler, fb.commander):
        raise NotHolder("the handling unit does not record its own rating")


def contact_for_call(
    session: Session, feedback_id: int, actor: Actor, *, now: dt.datetime | None = None
) -> tuple[str, str]:
    """The resident's name and phone, for the callback operator who is to call about a pending
    round; the read is a trail event (personal data), in the caller's transaction."""
    now = now or _utcnow()
    chain.lock_head(session)
    fb = session.get(Feedback, feedback_id, populate_existing=True)
    case = session.get(Case, fb.case_id) if fb is not None else None
    if fb is None or case is None:
        raise NotFound(f"no feedback {feedback_id}")
    may_call(session, actor, case, fb)
    if fb.status != "pending":
        raise Conflict(f"feedback {feedback_id} has been answered: no call to make")
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action="case.personal_data_read",
        case_id=case.id,
        data={"phone": "shown", "for": "callback", "feedback": fb.id},
    )
    return case.applicant_name, case.applicant_phone


def pending_of(session: Session, case_id: int) -> Feedback:
    fb = session.execute(
        select(Feedback)
        .where(Feedback.case_id == case_id)
        .order_by(Feedback.round.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if fb is None:
        raise NotAllowed(f"case {case_id} has not ended: the resident is asked once it has")
    if fb.status != "pending":
        raise Conflict(f"case {case_id} has been answered already (round {fb.round})")
    return fb


def _master_of(session: Session, case_id: int) -> int | None:
    return session.execute(select(Case.merged_into).where(Case.id == case_id)).scalar()


def _give(
    session: Session,
    fb: Feedback,
    actor: Actor,
    *,
    level: int,
    resolved: bool,
    comment: str,
    channel: str,
    now: dt.datetime,
) -> Feedback:
    fb.status = "given"
    fb.level = level
    fb.resolved = resolved
    fb.comment = comment or None
    fb.channel = channel
    fb.given_at = now
    fb.given_by = actor.label
    fb.code = None  # used: the link opens nothing any more
    session.flush()
    # The resident's comment stays out of the trail (it may name people); the numbers go in.
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action=GIVEN,
        case_id=fb.case_id,
        data={
            "feedback": fb.id,
            "round": fb.round,
            "level": level,
            "resolved": resolved,
            "channel": channel,
            "handler": fb.handler,
            "commander": fb.commander,
            # 合并: the answer is about the master's outcome, and counts for it (once).
            **({"merged_into": master} if (master := _master_of(session, fb.case_id)) else {}),
        },
    )
    if level in BAD_LEVELS and fb.handler:
        rectification.open_for(session, fb, now=now)
    return fb


def record_call(
    session: Session,
    case_id: int,
    actor: Actor,
    *,
    level: Any,
    resolved: Any,
    comment: Any = None,
    channel: Any = "phone",
    now: dt.datetime | None = None,
) -> Feedback:
    """回访: a callback operator records the resident's answer on CASE_ID's pending round."""
    now = now or _utcnow()
    text = check_answer(level, resolved, comment, channel)
    chain.lock_head(session)
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"no case {case_id}")
    fb = pending_of(session, case_id)
    may_call(session, actor, case, fb)
    return _give(
        session, fb, actor, level=level, resolved=resolved, comment=text, channel=channel, now=now
    )


def answer_link(
    session: Session,
    code: str,
    *,
    level: Any,
    resolved: Any,
    comment: Any = None,
    now: dt.datetime | None = None,
) -> Feedback:
    """The resident answers through the one-time link: usable once, until it expires."""
    now = now or _utcnow()
    text = check_answer(level, resolved, comment, "link")
    chain.lock_head(session)  # two answers on one link: the second sees the first
    fb = links.by_code(session, code, now)
    return _give(
        session, fb, RESIDENT, level=level, resolved=resolved, comment=text, channel="link", now=now
    )
