"""Appraisal records as administrators and auditors read them: by period and kind, paged."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.actors import Actor
from workflow.appraisal import records as appraisal
from workflow.errors import NotFound, NotHolder
from workflow.queries.paging import Page
from workflow.queries.scope import MAX_ID
from workflow.store.models import AppraisalRecord

READERS = ("admin", "auditor")


def _check_reader(actor: Actor) -> None:
    if actor.role not in READERS:
        raise NotHolder(code="appraisal_readers", params={"roles": list(READERS)})


def list_records(
    session: Session,
    *,
    actor: Actor,
    period: str | None = None,
    kind: str | None = None,
    offset: int = 0,
    limit: int | None = None,
) -> Page[AppraisalRecord]:
    """Records by period, kind, rank and unit; a finalized period shows its final records only
    (a period holds a few hundred records at most: they are read whole, then sliced)."""
    _check_reader(actor)
    recs = appraisal.records(session, period, kind)
    end = len(recs) if limit is None else offset + limit
    return Page(recs[offset:end], len(recs), None)


def get_record(session: Session, *, actor: Actor, record_id: int) -> AppraisalRecord:
    _check_reader(actor)
    rec = session.get(AppraisalRecord, record_id) if 1 <= record_id <= MAX_ID else None
    if rec is None:
        raise NotFound(code="no_appraisal_record", params={"record": record_id})
    return rec


def periods(session: Session) -> list[str]:
    """The periods that have records, oldest first."""
    stmt = select(AppraisalRecord.period).distinct().order_by(AppraisalRecord.period)
    return list(session.execute(stmt).scalars())


def scored_periods(session: Session) -> list[str]:
    """The periods in which some unit has a score (not only 不参评 records), oldest first."""
    stmt = (
        select(AppraisalRecord.period)
        .where(AppraisalRecord.score.is_not(None))
        .distinct()
        .order_by(AppraisalRecord.period)
    )
    return list(session.execute(stmt).scalars())
