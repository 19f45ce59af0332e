"""What waits for a unit, counted for the console's navigation: supervisions to acknowledge
(督办), extensions to decide (延期), whistled cases awaiting a report (吹哨), callbacks to make
(回访) and returns to review (退单). Each count is of what still asks for action: a supervision
whose case moved on or closed, a decided extension, a decided return no longer count."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.catalog import registry
from workflow.queries import cases, extensions, feedback, returns, supervisions
from workflow.queries.paging import count_upto_statement
from workflow.runtime import sla
from workflow.store.models import Case, Extension, Notification, ReturnRequest, Supervision

# Beyond this a navigation badge says "99+": a unit with that many knows it has work.
CAP = 99


def counts(session: Session, actor: Actor, *, unread: bool = False) -> dict[str, int]:
    """The counts for ACTOR's unit, by list (only the lists the role works on); a count past
    CAP is CAP + 1. With UNREAD, also "unread": the unit's unread notifications, exact (as
    workflow.notify.manage.unread_count counts them). Every count is asked in one statement
    (each its own scalar subquery): a department's page asked five."""
    statement = _statement(session, actor, unread and bool(actor.unit))
    out: dict[str, int] = {}
    if statement is not None:
        names, merged = statement
        for name, n in zip(names, session.execute(merged).one(), strict=True):
            out[name] = n if name == "unread" or n <= CAP else CAP + 1
    if unread:
        out.setdefault("unread", 0)  # a user of no unit has no notifications
    if actor.role == "callback":
        page = feedback.feedback(session, actor=actor, status="pending", limit=CAP + 1)
        out["callbacks"] = len(page.items)
    return out


def _statement(session: Session, actor: Actor, unread: bool) -> tuple[list[str], Any] | None:
    """The one statement of counts() for ACTOR (its counts' names in order), kept as built."""
    index = registry.units(session)
    key = (actor.unit or "", actor.role, unread)
    hit = _merged.get(key)
    if hit is not None and hit[0] is index:
        return hit[1]
    parts = list(_statements(session, actor))
    if unread:
        parts.append(
            (
                "unread",
                select(func.count())
                .select_from(Notification)
                .where(Notification.unit == (actor.unit or ""), Notification.read_at.is_(None)),
            )
        )
    made = (
        ([name for name, _ in parts], select(*(q.scalar_subquery() for _, q in parts)))
        if parts
        else None
    )
    with _built_lock:
        if len(_merged) > 10_000:
            _merged.clear()
        _merged[key] = (index, made)
    return made


# Every page of the console asks these counts (its navigation's badges): their statements,
# built for a (unit, role) and the organisation they were built with (their scope reads it), are
# kept rather than built again each page (building them was a third of a department's
# supervision page: 2-4 ms).
_built: dict[tuple[str, str], tuple[registry.UnitIndex, list[tuple[str, Any]]]] = {}
_built_lock = threading.Lock()
_merged: dict[tuple[str, str, bool], tuple[registry.UnitIndex, tuple[list[str], Any] | None]] = {}


def _statements(session: Session, actor: Actor) -> list[tuple[str, Any]]:
    index = registry.units(session)
    key = (actor.unit or "", actor.role)
    hit = _built.get(key)
    if hit is not None and hit[0] is index:
        return hit[1]
    made = _build(session, actor)
    with _built_lock:
        if len(_built) > 10_000:  # units × roles: never near this but for renamed units
            _built.clear()
        _built[key] = (index, made)
    return made


def _build(session: Session, actor: Actor) -> list[tuple[str, Any]]:
    """Each count's statement (count_upto's, to CAP + 1) for ACTOR's (unit, role)."""
    out: list[tuple[str, Any]] = []
    unit = actor.unit or ""
    if actor.role in ("staff", "admin"):
        out.append(
            (
                "supervisions",
                count_upto_statement(
                    Supervision.id,
                    [
                        supervisions.visible(session, actor),
                        or_(
                            Supervision.unit == unit,
                            Supervision.also_unit == unit,
                            Supervision.listed_unit == unit,
                        ),
                        Supervision.acknowledged_at.is_(None),
                        sla.still_open(),
                    ],
                    CAP,
                ),
            )
        )
        out.append(
            ("whistles", count_upto_statement(Case.id, cases.whistle_queue(session, actor), CAP))
        )
    if actor.role in ("clerk", "staff", "admin"):
        out.append(
            (
                "extensions",
                count_upto_statement(
                    Extension.id,
                    [
                        extensions.visible(session, actor),
                        Extension.unit == unit,
                        Extension.status == "pending",
                    ],
                    CAP,
                ),
            )
        )
        out.append(
            (
                "returns",
                count_upto_statement(
                    ReturnRequest.id,
                    [
                        returns.visible(session, actor),
                        ReturnRequest.reviewer == unit,
                        ReturnRequest.status == "pending",
                    ],
                    CAP,
                ),
            )
        )
    return out
