"""What waits for a unit, counted for the console's navigation: supervisions to acknowledge
(督办), extensions to decide (延期), whistled cases awaiting a report (吹哨), callbacks to make
(回访) and returns to review (退单). Each count is of what still asks for action: a supervision
whose case moved on or closed, a decided extension, a decided return no longer count."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.queries import cases, extensions, feedback, returns, supervisions
from workflow.queries.paging import count_upto
from workflow.runtime import sla
from workflow.store.models import Case, Extension, ReturnRequest, Supervision

# Beyond this a navigation badge says "99+": a unit with that many knows it has work.
CAP = 99


def _count(session: Session, id_column: Any, where: list[ColumnElement[bool]]) -> int:
    n, exact = count_upto(session, id_column, where, CAP)
    return n if exact else CAP + 1


def counts(session: Session, actor: Actor) -> dict[str, int]:
    """The counts for ACTOR's unit, by list (only the lists the role works on); a count past
    CAP is CAP + 1."""
    out: dict[str, int] = {}
    unit = actor.unit or ""
    if actor.role in ("staff", "admin"):
        out["supervisions"] = _count(
            session,
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
        )
        out["whistles"] = _count(session, Case.id, cases.whistle_queue(session, actor))
    if actor.role in ("clerk", "staff", "admin"):
        out["extensions"] = _count(
            session,
            Extension.id,
            [
                extensions.visible(session, actor),
                Extension.unit == unit,
                Extension.status == "pending",
            ],
        )
        out["returns"] = _count(
            session,
            ReturnRequest.id,
            [
                returns.visible(session, actor),
                ReturnRequest.reviewer == unit,
                ReturnRequest.status == "pending",
            ],
        )
    if actor.role == "callback":
        page = feedback.feedback(session, actor=actor, status="pending", limit=CAP + 1)
        out["callbacks"] = len(page.items)
    return out
