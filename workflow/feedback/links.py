"""Asking the resident: a feedback row per round, with its one-time link (a short code)."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import config
from workflow.errors import NotFound
from workflow.store.models import Case, Feedback, Task, TrailEvent

# No 0/O, 1/I/L: the code is read off a screen or an SMS and typed by hand.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_MAX = 16


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def handling_units(session: Session, case_id: int) -> tuple[str | None, str | None]:
    """(承办单位, commander): the unit whose `resolve` came last (else the one that brought the
    case to its end), and the unit that handed the case to it by whistle or dispatch; after a
    joint whistle, the lead department whose part was done, under the street that resolved."""
    events = session.execute(
        select(TrailEvent.trigger, TrailEvent.from_holder, TrailEvent.to_holder)
        .where(TrailEvent.case_id == case_id, TrailEvent.action == "case.transition")
        .order_by(TrailEvent.seq)
    ).all()
    handler = None
    for trigger, from_holder, _ in events:
        if trigger == "resolve":
            handler = from_holder
    if handler is None:
        final = [e for e in events if e.to_holder is None and e.from_holder is not None]
        handler = final[-1].from_holder if final else None
    # A joint whistle: the street resolves, keeping command; the lead department (主办) whose
    # part was done handled it.
    lead = session.execute(
        select(Task.unit)
        .where(Task.case_id == case_id, Task.lead.is_(True), Task.status == "done")
        .order_by(Task.id.desc())
        .limit(1)
    ).scalar()
    if lead is not None and handler is not None and lead != handler:
        return lead, handler
    commander = None
    for trigger, from_holder, to_holder in events:
        if trigger in ("whistle", "dispatch") and to_holder == handler and from_holder != handler:
            commander = from_holder
    return handler, commander


def ask(
    session: Session, case: Case, *, now: dt.datetime, round: int = 1, about: int | None = None
) -> Feedback:
    """A pending feedback of CASE for ROUND, with a fresh link; in the caller's transaction.
    ABOUT: the case whose outcome is rated (a merged case's resident rates its master's)."""
    handler, commander = handling_units(session, about or case.id)
    fb = Feedback(
        case_id=case.id,
        round=round,
        status="pending",
        handler=handler,
        commander=commander,
        street=case.street,
        code=new_code(),
        expires_at=now + dt.timedelta(days=config.of(session).feedback_link_days),
        created_at=now,
        excluded=False,
    )
    session.add(fb)
    session.flush()
    return fb


def case_ended(session: Session, case_id: int, now: dt.datetime) -> None:
    """Called by the engine as a case reaches a final state: the resident is asked."""
    case = session.get(Case, case_id)
    if case is None:
        return
    have = session.execute(select(Feedback.id).where(Feedback.case_id == case_id)).first()
    if have is None:
        ask(session, case, now=now)
    # 合并: the residents of the cases merged into this one rate its outcome too.
    from workflow.dispatch import duplicates

    duplicates.ask_merged(session, case_id, now)


def by_code(session: Session, code: str, now: dt.datetime) -> Feedback:
    """The pending feedback a link's CODE opens; NotFound when unknown, used or expired (the
    resident is told the same for all three: no guessing which codes exist)."""
    code = (code or "").strip().upper()
    if not code or len(code) > CODE_MAX or any(c not in ALPHABET for c in code):
        raise NotFound("this link is not valid: it has been used, has expired, or never existed")
    fb = session.execute(
        select(Feedback).where(Feedback.code == code).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if fb is None or fb.status != "pending" or fb.expires_at <= now:
        raise NotFound("this link is not valid: it has been used, has expired, or never existed")
    return fb
