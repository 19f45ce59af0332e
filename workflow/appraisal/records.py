"""Appraisal records: computed as drafts, finalized (frozen, digested, in the trail), verified.

A record's inputs are everything its numbers depend on: the period's bounds, the trail up to
``last_seq`` (whose chain hash ``last_hash`` commits to every earlier event), the versions of the
appraisal scheme and of the units, and the street assessments entered by then. Recomputing from
the same inputs gives the same record, whatever happened since."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, literal_column, select
from sqlalchemy.orm import Session

from workflow import config
from workflow.actors import Actor
from workflow.appraisal.metrics import Window, cases_of, measure, period_bounds
from workflow.audit import blocks, chain, checkpoints, spelling
from workflow.catalog import registry
from workflow.errors import Conflict, InvalidInput, NotAllowed, NotFound, NotHolder
from workflow.inputs import check_text
from workflow.instants import iso, parse_iso, utcnow
from workflow.spec.scheme import ALL_METRICS, ASSESSMENT, LOWER_IS_BETTER
from workflow.store.models import (
    AppraisalRecord,
    Assessment,
    DefinitionVersion,
    TrailEvent,
    TrailHead,
)

ASSESSMENT_ENTERED = "appraisal.assessment_entered"
FINALIZED = "appraisal.finalized"
MAX_COMMENT = 2000


def timezone(session: Session) -> str:
    """The timezone periods are months of: the settings' (workflow.config)."""
    return config.of(session).timezone


def digest_of(value: Any) -> str:
    return hashlib.sha256(chain.canonical_json(value)).hexdigest()


def _definition(session: Session, kind: str, version: int) -> dict[str, Any]:
    row = session.execute(
        select(DefinitionVersion).where(
            DefinitionVersion.kind == kind,
            DefinitionVersion.name == kind,
            DefinitionVersion.version == version,
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(
            f"no published {kind} definition version {version}",
            code="no_definition_version",
            params={"definition": kind, "version": version},
        )
    return row.content


# ---------------------------------------------------------------- inputs and calculation


@dataclass(frozen=True)
class _Head:
    seq: int
    hash: str


def _trail_head(session: Session) -> _Head:
    """The trail's head: the single chain's; on a partitioned trail the highest head seq (every
    event up to it has committed: the caller holds every partition's lock) and the Merkle root
    of the heads."""
    rows = session.execute(
        select(TrailHead.id, TrailHead.seq, TrailHead.hash).order_by(TrailHead.id)
    ).all()
    if len(rows) == 1:
        return _Head(rows[0].seq, rows[0].hash)
    heads = [(r.id - 1, r.seq, r.hash) for r in rows]
    return _Head(max(r.seq for r in rows), checkpoints.merkle_root(heads))


def gather_inputs(session: Session, period: str) -> dict[str, Any]:
    """The inputs of a computation now: the trail so far, the latest definitions."""
    start, end = period_bounds(period, timezone(session))
    head = _trail_head(session)
    scheme_version = scheme_version_for(session, period)
    if not scheme_version:
        raise NotFound(
            "no appraisal scheme is published: add definitions/appraisal.yaml",
            code="no_appraisal_scheme",
        )
    ev = TrailEvent
    rows = session.execute(
        select(ev.data["unit"].as_string(), ev.data["score"].as_float()).where(
            ev.action == ASSESSMENT_ENTERED,
            # The actions' partial index's condition, as a literal: the few assessments are
            # found by their action, not by reading the trail (a second at a million cases).
            ev.seq > literal_column("0"),
            ev.data["period"].as_string() == period,
            ev.seq <= head.seq,
        )
    ).all()
    return {
        "period": period,
        "timezone": timezone(session),
        "from": chain.format_at(start),
        "to": chain.format_at(end),
        "last_seq": head.seq,
        "last_hash": head.hash,
        # The events as stored, not only as hashed: the metrics read the stored text (SQL JSON
        # functions), so a row changed behind the chain's back moves the digest too. By blocks
        # of seqs (version 2), each full block digested once (workflow.audit.blocks); records
        # of version 1 carry `trail_read`, the digest of the whole trail, and verify by it.
        "trail_read_blocks": {
            "size": blocks.SIZE,
            "digest": blocks.trail_read(session, head.seq, size=blocks.SIZE),
        },
        "definitions": {
            "appraisal": scheme_version,
            "units": registry.latest_version(session, "units", "units"),
        },
        "assessments": {unit: score for unit, score in sorted(rows)},
    }


def scheme_version_for(session: Session, period: str) -> int:
    """The latest scheme version that applies to PERIOD: a version published for a later
    period (its `from`) does not change the periods before it. 0 when none is published."""
    rows = session.execute(
        select(DefinitionVersion.version, DefinitionVersion.content)
        .where(DefinitionVersion.kind == "appraisal", DefinitionVersion.name == "appraisal")
        .order_by(DefinitionVersion.version.desc())
    ).all()
    for version, content in rows:
        start = (content or {}).get("from") or ""
        if not start or start <= period:
            return int(version)
    return 0


def score_of(
    weights: dict[str, float],
    metrics: dict[str, Any],
    penalty: float,
    extra_penalties: dict[str, float] | None = None,
) -> float:
    """Weighted rates on 100 points, over the rates that apply this period; minus the penalty
    per open overdue case; never below 0."""
    got = used = 0.0
    for name, weight in weights.items():
        value = metrics[name]["value"]
        if value is None:
            continue
        if name == ASSESSMENT:
            value = value / 100
        elif name in LOWER_IS_BETTER:
            value = 1 - value
        got += weight * value
        used += weight
    base = 100 * got / used if used else 0.0
    base -= sum(
        points * metrics[name]["value"]
        for name, points in (extra_penalties or {}).items()
        if name in metrics
    )
    return round(max(0.0, base - penalty * metrics["open_overdue"]["value"]), 2)


def practice_penalties(scheme: dict[str, Any]) -> dict[str, float]:
    """Points off per approved return laid on the unit and per step of the supervision ladder,
    when the scheme has those sections (a scheme without them scores as before)."""
    out: dict[str, float] = {}
    if scheme.get("returns"):
        out["returns_at_fault"] = float(scheme["returns"].get("fault_penalty", 0))
    if scheme.get("ladder"):
        pen = scheme["ladder"].get("penalties", {})
        out["reminders"] = float(pen.get("reminder", 0))
        out["supervisions"] = float(pen.get("supervision", 0))
        out["listed_supervisions"] = float(pen.get("listed", 0))
    return {k: v for k, v in out.items() if v}


def calculate(session: Session, inputs: dict[str, Any]) -> list[dict[str, Any]]:
    """Every appraised unit's record (unit, kind, metrics, score, rank) from INPUTS."""
    scheme = _definition(session, "appraisal", inputs["definitions"]["appraisal"])
    units = _definition(session, "units", inputs["definitions"]["units"])["units"]
    kinds = scheme["kinds"]
    appraised = sorted((u["code"], u["kind"]) for u in units if u["kind"] in kinds)
    window = Window(
        inputs["period"], parse_iso(inputs["from"]), parse_iso(inputs["to"]), inputs["last_seq"]
    )
    # A scheme that states `credit` measures by the resident's answers and ranks fairly; an
    # older one (a frozen record's) keeps the rules it was frozen with.
    fair = "credit" in scheme
    measured = measure(
        session, window, [code for code, _ in appraised], scheme["credit"] if fair else None
    )
    out: list[dict[str, Any]] = []
    for code, kind in appraised:
        metrics = measured[code]
        cases = cases_of(metrics)
        if kind == "dispatched_agency":
            metrics[ASSESSMENT] = {"value": inputs["assessments"].get(code)}
        weights = kinds[kind]["weights"]
        score: float | None = score_of(
            weights, metrics, scheme["open_overdue_penalty"], practice_penalties(scheme)
        )
        if fair:
            metrics["cases"] = {"value": cases}
            if cases < scheme["min_cases"]:
                score = None  # 不参评: too few cases to say anything
        out.append({"unit": code, "kind": kind, "metrics": metrics, "score": score})
    if fair:
        # Dense ranks within each kind among the units ranked (1, 2, 2, 3); 不参评: no rank.
        for kind in kinds:
            distinct = sorted(
                {r["score"] for r in out if r["kind"] == kind and r["score"] is not None},
                reverse=True,
            )
            for r in out:
                if r["kind"] == kind:
                    r["rank"] = None if r["score"] is None else distinct.index(r["score"]) + 1
        return out
    # Ranking within each kind: equal scores share a rank (1, 2, 2, 4).
    for kind in kinds:
        scores = sorted((r["score"] for r in out if r["kind"] == kind), reverse=True)
        for r in out:
            if r["kind"] == kind:
                r["rank"] = scores.index(r["score"]) + 1
    return out


# ---------------------------------------------------------------- drafts and finals


def _records(session: Session, period: str, status: str) -> list[AppraisalRecord]:
    return list(
        session.execute(
            select(AppraisalRecord)
            .where(AppraisalRecord.period == period, AppraisalRecord.status == status)
            .order_by(AppraisalRecord.kind, AppraisalRecord.rank.nulls_last(), AppraisalRecord.unit)
        ).scalars()
    )


def is_finalized(session: Session, period: str) -> bool:
    return (
        session.execute(
            select(AppraisalRecord.id)
            .where(AppraisalRecord.period == period, AppraisalRecord.status == "final")
            .limit(1)
        ).first()
        is not None
    )


def _store(
    session: Session,
    inputs: dict[str, Any],
    rows: list[dict[str, Any]],
    status: str,
    now: dt.datetime,
) -> list[AppraisalRecord]:
    period = inputs["period"]
    session.execute(
        delete(AppraisalRecord).where(
            AppraisalRecord.period == period, AppraisalRecord.status == "draft"
        )
    )
    digest = digest_of(inputs)
    records = [
        AppraisalRecord(
            period=period,
            unit=r["unit"],
            kind=r["kind"],
            status=status,
            metrics=r["metrics"],
            score=r["score"],
            rank=r["rank"],
            inputs=inputs,
            digest=digest,
            computed_at=now,
            finalized_at=now if status == "final" else None,
        )
        for r in rows
    ]
    session.add_all(records)
    session.flush()
    return records


def compute(
    session: Session, period: str, *, now: dt.datetime | None = None
) -> list[AppraisalRecord]:
    """Compute the period's records as drafts, replacing earlier drafts."""
    now = now or utcnow()
    chain.lock_head(session)
    period_bounds(period, timezone(session))
    if is_finalized(session, period):
        raise Conflict(code="period_finalized_verify", params={"period": period})
    inputs = gather_inputs(session, period)
    return _store(session, inputs, calculate(session, inputs), "draft", now)


def _content(records: list[AppraisalRecord]) -> list[Any]:
    return sorted([r.unit, r.kind, r.metrics, r.score, r.rank] for r in records)


def finalize(
    session: Session, period: str, *, actor: str, now: dt.datetime | None = None
) -> list[AppraisalRecord]:
    """Compute and freeze the period's records; the trail records their inputs and digest."""
    now = now or utcnow()
    chain.lock_head(session)
    _, end = period_bounds(period, timezone(session))
    if is_finalized(session, period):
        raise Conflict(code="period_finalized_already", params={"period": period})
    if now < end:
        raise NotAllowed(code="period_not_ended", params={"period": period})
    inputs = gather_inputs(session, period)
    records = _store(session, inputs, calculate(session, inputs), "final", now)
    chain.append(
        session,
        at=now,
        actor=actor,
        action=FINALIZED,
        data={
            "period": period,
            "inputs": inputs,
            "digest": digest_of(inputs),
            "records": len(records),
            "content_digest": digest_of(_content(records)),
        },
    )
    return records


def records(
    session: Session, period: str | None = None, kind: str | None = None
) -> list[AppraisalRecord]:
    """Stored records, the final ones of a period in place of its drafts."""
    q = select(AppraisalRecord)
    if period:
        q = q.where(AppraisalRecord.period == period)
    if kind:
        q = q.where(AppraisalRecord.kind == kind)
    rows = list(
        session.execute(
            q.order_by(
                AppraisalRecord.period,
                AppraisalRecord.kind,
                AppraisalRecord.rank.nulls_last(),
                AppraisalRecord.unit,
            )
        ).scalars()
    )
    final_periods = {r.period for r in rows if r.status == "final"}
    return [r for r in rows if r.status == "final" or r.period not in final_periods]


def verify(session: Session, period: str) -> tuple[int, list[str]]:
    """Recompute the period's records from their inputs and compare: (records checked, every
    difference, naming the record). Final records take their inputs from the trail."""
    period_bounds(period, timezone(session))
    stored = _records(session, period, "final")
    finalized_event = None
    if stored:
        finalized_event = session.execute(
            select(TrailEvent)
            .where(TrailEvent.action == FINALIZED, TrailEvent.data["period"].as_string() == period)
            .order_by(TrailEvent.seq.desc())
            .limit(1)
        ).scalar_one_or_none()
    else:
        stored = _records(session, period, "draft")
    if not stored:
        raise NotFound(code="no_records_for", params={"period": period})
    problems: list[str] = []
    if finalized_event is not None:
        inputs = finalized_event.data["inputs"]
        if digest_of(_content(stored)) != finalized_event.data["content_digest"]:
            problems.append(
                f"the records of {period} differ from what trail event {finalized_event.seq} froze"
            )
    elif stored[0].status == "final":
        inputs = stored[0].inputs
        problems.append(f"no {FINALIZED} event in the trail for {period}")
    else:
        inputs = stored[0].inputs
    problems += _trail_read_problems(session, period, inputs)
    expected = {r["unit"]: r for r in calculate(session, inputs)}
    digest = digest_of(inputs)
    for rec in stored:
        name = f"record {rec.id} ({rec.unit}, {rec.period}, {rec.status})"
        want = expected.pop(rec.unit, None)
        if want is None:
            problems.append(f"{name}: no such unit is appraised by the scheme")
            continue
        if rec.inputs != inputs or rec.digest != digest:
            problems.append(f"{name}: inputs or digest differ")
        for field in ("kind", "score", "rank"):
            if getattr(rec, field) != want[field]:
                problems.append(
                    f"{name}: {field} is {getattr(rec, field)!r}, recomputed {want[field]!r}"
                )
        for metric in sorted(set(rec.metrics) | set(want["metrics"])):
            if rec.metrics.get(metric) != want["metrics"].get(metric):
                problems.append(f"{name}: metric {metric} differs from the recomputed one")
    for unit in sorted(expected):
        problems.append(f"{period}: no record for {unit}")
    return len(stored), problems


def _trail_read_problems(session: Session, period: str, inputs: dict[str, Any]) -> list[str]:
    """Are the stored trail events the records were computed from unchanged? By the blocks
    (version 2: every block recomputed from its rows, a changed one named), or by the digest
    of the whole trail (version 1). Records older than both are not checked for it."""
    upto = inputs["last_seq"]
    differ = (
        f"the stored trail events 1..{upto} are not those the records of {period} were "
        "computed from"
    )
    by_blocks = inputs.get("trail_read_blocks")
    if by_blocks is not None:
        digest, changed = blocks.recheck(session, upto, int(by_blocks["size"]))
        out = [
            f"the stored trail events {b.first_seq}..{b.last_seq} no longer give the digest "
            f"stored for their block: changed after the block was digested"
            for b, _ in changed
        ]
        return [*out, differ] if digest != by_blocks["digest"] else out
    read = inputs.get("trail_read")
    if read is not None and spelling.stored_digest(session.connection(), upto) != read:
        return [differ]
    return []


# ---------------------------------------------------------------- the street's assessment


def enter_assessment(
    session: Session,
    *,
    actor: Actor,
    unit: str,
    period: str,
    score: Any,
    comment: Any,
    now: dt.datetime | None = None,
) -> Assessment:
    """考核评价: the host street's administrator assesses a stationed agency, once a period."""
    now = now or utcnow()
    chain.lock_head(session)
    start, _ = period_bounds(period, timezone(session))
    if now < start:
        # An assessment is of work done: one entered early would block the real one.
        raise InvalidInput(
            errors={"period": ["not begun yet"]}, code="period_not_begun", params={"period": period}
        )
    agency = registry.units(session).units.get(unit)
    if agency is None or agency.kind != "dispatched_agency":
        raise InvalidInput(
            errors={"unit": ["not an agency"]}, code="not_an_agency", params={"unit": unit}
        )
    if actor.role != "admin" or actor.unit != agency.host_street:
        raise NotHolder(code="assessor_only", params={"street": agency.host_street, "unit": unit})
    _check_assessment(score, comment)
    if is_finalized(session, period):
        raise Conflict(code="period_finalized_assessments", params={"period": period})
    exists = session.execute(
        select(Assessment.id).where(Assessment.unit == unit, Assessment.period == period)
    ).first()
    if exists:
        raise Conflict(code="assessed_already", params={"unit": unit, "period": period})
    row = Assessment(
        unit=unit,
        period=period,
        score=float(score),
        comment=comment.strip(),
        entered_by=actor.name,
        entered_at=now,
    )
    session.add(row)
    session.flush()
    chain.append(
        session,
        at=now,
        actor=actor.label,
        unit=actor.unit,
        action=ASSESSMENT_ENTERED,
        data={"unit": unit, "period": period, "score": float(score), "comment": row.comment},
    )
    return row


def _check_assessment(score: Any, comment: Any) -> None:
    """A score from 0 to 100 (not NaN, not a boolean) and a comment within the text policy."""
    if (
        isinstance(score, bool)
        or not isinstance(score, int | float)
        or score != score
        or not 0 <= score <= 100
    ):
        raise InvalidInput(errors={"score": ["0 to 100"]}, code="score_range")
    if not isinstance(comment, str) or not comment.strip():
        raise InvalidInput(errors={"comment": ["required"]}, code="assessment_comment")
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(
            errors={"comment": [f"at most {MAX_COMMENT}"]},
            code="the_too_long",
            params={"field": "comment"},
        )
    check_text(comment=comment)


def record_dict(rec: AppraisalRecord, *, cases: bool = False) -> dict[str, Any]:
    """A record as the API and the export show it; CASES adds the case ids behind each metric."""
    metrics = {}
    for name, m in rec.metrics.items():
        shown = {k: v for k, v in m.items() if cases or not k.endswith("_cases")}
        metrics[name] = shown
    return {
        "id": rec.id,
        "period": rec.period,
        "unit": rec.unit,
        "kind": rec.kind,
        "status": rec.status,
        "score": rec.score,
        "rank": rec.rank,
        "metrics": metrics,
        "digest": rec.digest,
        "inputs": rec.inputs,
        "computed_at": chain.format_at(rec.computed_at),
        "finalized_at": iso(rec.finalized_at),
    }


__all__ = [
    "ALL_METRICS",
    "compute",
    "enter_assessment",
    "finalize",
    "record_dict",
    "records",
    "verify",
]
