"""Who reads what: the part of the trail each reader may read, the applicant's name as an auditor
sees it, and which requests Open311 publishes. The API and the console both ask here, so that
they cannot disagree.

The trail is read by auditors. An auditor at the district reads all of it; an auditor at a street
office or a department reads their unit's part: every event of the cases their unit may see (a
street: the cases of its workstations; a department: the cases it holds or has held) and the
events their unit acted without a case (a street's assessments). Everyone else
(administrators included) reads no part through the trail browser; they read the timeline of each
case in their scope on its case page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, false, or_, select, true
from sqlalchemy.orm import Session, aliased

from workflow.actors import Actor
from workflow.catalog import registry
from workflow.store.models import Case, CaseUnit, Feedback, Rectification, TrailEvent

# The channel of a case opened at a workstation's window (console or API), never published.
WINDOW = "window"


def _kind(session: Session, unit: str | None) -> str | None:
    u = registry.units(session).units.get(unit or "")
    return u.kind if u else None


def held_by(unit: str) -> ColumnElement[bool]:
    """The cases UNIT holds or has held (per the trail): its cases now and those the trail ever
    handed it (case_units, kept by the trail's trigger), one set whose ids a list newest first
    reads in order, stopping at its page; asking each case's trail in turn read tens of
    thousands of cases to count a department's first thousand."""
    return Case.id.in_(held_ids(unit))


def held_ids(unit: str) -> Any:
    """The ids of held_by(UNIT)'s cases (a case may come twice: handed, and held now)."""
    return (
        select(CaseUnit.case_id)
        .where(CaseUnit.unit == unit)
        .union_all(select(_HELD_NOW.id).where(_HELD_NOW.holder == unit))
    )


# held_by()'s second copy of the cases (its own name in the subquery, so that the list's cases
# are not correlated into it), made once: each aliased(Case) builds its 40 columns' proxies
# again when a condition first names one (1-2 ms a call, two or three calls a department's page).
_HELD_NOW = aliased(Case)


def held_by_each(unit: str) -> ColumnElement[bool]:
    """held_by() asked of each case (by the primary key of case_units): for a condition OR-ed
    with another one that a list walks in id order (a street's cases)."""
    return or_(
        Case.holder == unit,
        exists().where(CaseUnit.unit == unit, CaseUnit.case_id == Case.id),
    )


def handed(unit: str) -> ColumnElement[bool]:
    """The cases the trail ever handed to UNIT (an event with UNIT as its new holder)."""
    return Case.id.in_(select(CaseUnit.case_id).where(CaseUnit.unit == unit))


def unit_cases(unit: str, kind: str | None) -> ColumnElement[bool]:
    """The cases a unit works on: a street's, a workstation's, or those a unit holds or held."""
    if kind == "district":
        return true()
    if kind == "street_office":
        return Case.street == unit
    if kind == "workstation":
        return Case.workstation == unit
    if kind is None:
        return false()
    return held_by(unit)


def auditor_cases(session: Session, actor: Actor) -> ColumnElement[bool]:
    """The cases an auditor may read: those of their unit's part of the trail."""
    return unit_cases(actor.unit or "", _kind(session, actor.unit))


def reads_whole_trail(session: Session, actor: Actor) -> bool:
    """Only an auditor at the district reads (verifies piece by piece, exports) every event."""
    return actor.role == "auditor" and _kind(session, actor.unit) == "district"


def trail_part(session: Session, actor: Actor) -> ColumnElement[bool] | None:
    """A WHERE clause on trail events selecting what ACTOR may read; None: no part at all."""
    if actor.role != "auditor":
        return None
    kind = _kind(session, actor.unit)
    if kind == "district":
        return true()
    unit = actor.unit or ""
    # Asked of each event by the case's primary key: a page of the trail stops at its page, where
    # IN (the unit's every case) built a set of a street's 160,000 cases for each page.
    cases = select(Case.id).where(Case.id == TrailEvent.case_id, unit_cases(unit, kind))
    index = CASE_INDEXES.get(kind or "")
    if index:
        # The narrow index on (street, id) answers it without the case's row (SQLite read the
        # row by its primary key).
        cases = cases.with_hint(Case, f"INDEXED BY {index}", "sqlite")
    if session.get_bind().dialect.name == "postgresql":
        # OFFSET 0 keeps it a question asked of each event: PostgreSQL hashed the street's
        # every case (100,000 at a million) for each page instead (an EXISTS under an OR).
        cases = cases.offset(0)
    return or_(exists(cases), trail_part_without_cases(actor))


# The index that holds a unit's cases by id, by the unit's kind (unit_cases).
CASE_INDEXES = {"street_office": "ix_cases_street_id", "workstation": "ix_cases_workstation_id"}


def part_cases_index(session: Session, actor: Actor) -> str | None:
    """The index of their own that holds the cases of ACTOR's part of the trail, when they are
    a street's or a workstation's (CASE_INDEXES): counting them reads that index alone."""
    return CASE_INDEXES.get(_kind(session, actor.unit) or "")


def trail_part_cases(session: Session, actor: Actor) -> ColumnElement[bool] | None:
    """Of trail_part(): the cases whose events ACTOR reads (a condition on the case); None
    for an auditor at the district (the whole trail) and for those who read no part."""
    if actor.role != "auditor":
        return None
    kind = _kind(session, actor.unit)
    if kind == "district":
        return None
    return unit_cases(actor.unit or "", kind)


def trail_part_case_ids(session: Session, actor: Actor) -> Any:
    """Of trail_part(): the ids of the cases whose events ACTOR reads, as a set of their own
    (a street's or a workstation's from its index of cases, a department's those it holds or
    held), to read their events by the trail's index on the case; None for an auditor at the
    district and for those who read no part."""
    if actor.role != "auditor":
        return None
    kind = _kind(session, actor.unit)
    if kind == "district":
        return None
    unit = actor.unit or ""
    index = CASE_INDEXES.get(kind or "")
    if index:
        ids = select(Case.id).where(unit_cases(unit, kind))
        return ids.with_hint(Case, f"INDEXED BY {index}", "sqlite")
    if kind is None:
        return select(Case.id).where(false())
    return held_ids(unit)


def trail_part_as_set(actor: Actor) -> ColumnElement[bool]:
    """trail_part() of a department's auditor with each event's case looked up in the set of
    the department's cases (held_ids), which PostgreSQL hashes once for the statement, where
    trail_part() asks the indexes of each event (queries.trail chooses by the set's size)."""
    unit = actor.unit or ""
    return or_(TrailEvent.case_id.in_(held_ids(unit)), trail_part_without_cases(actor))


def trail_part_without_cases(actor: Actor) -> ColumnElement[bool]:
    """Of trail_part(): the events without a case ACTOR reads (their unit's own)."""
    return and_(TrailEvent.case_id.is_(None), TrailEvent.unit == (actor.unit or ""))


def shows_names(actor: Actor) -> bool:
    """Auditors read cases with the applicant's name masked: their work needs no names, so
    their reads are not personal-data reads."""
    return actor.role != "auditor"


def searches_names(actor: Actor) -> bool:
    """Who may find cases by the applicant's name: those who read names."""
    return shows_names(actor)


# The roles whose work is to reach the resident (the window, the handling units): they may find
# a case by the last digits of the phone; administrators and auditors may not.
PHONE_SEARCHERS = ("clerk", "staff")


def searches_phone(actor: Actor) -> bool:
    """Who may find cases by the last digits of the applicant's phone."""
    return actor.role in PHONE_SEARCHERS


def phone_shown_for(session: Session, actor: Actor, case: Case) -> str | None:
    """Why ACTOR may read the resident's whole phone on CASE, or None (masked): the holder
    handles the case ("holder"); once it has ended, the workstation that opened it still
    reaches the resident while a 回访 is pending or a rectification (整改) open ("follow_up")."""
    if not shows_names(actor) or actor.unit is None:
        return None
    if actor.unit == case.holder:
        return "holder"
    if case.holder is not None or actor.unit != case.workstation:
        return None
    if actor.role not in ("clerk", "staff", "admin"):
        return None
    pending = session.execute(_FOLLOW_UP, {"case_id": case.id}).scalar()
    return "follow_up" if pending else None


# Whether a case's 回访 is pending or a rectification of it open: one statement, built once.
_FOLLOW_UP = select(
    or_(
        exists().where(Feedback.case_id == bindparam("case_id"), Feedback.status == "pending"),
        exists().where(
            Rectification.case_id == bindparam("case_id"), Rectification.status == "open"
        ),
    )
)


def mask_name(name: str) -> str:
    """王小明 -> 王**, John Smith -> J*********: the surname's first character, no more."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    return name[0] + "*" * (len(name) - 1)


def applicant_name(actor: Actor, name: str) -> str:
    """The applicant's name as ACTOR reads it."""
    return name if shows_names(actor) else mask_name(name)


# What an Open311 request carries about the resident beyond the name and phone.
OPEN311_CONTACT = ("email", "device_id", "account_id")


def form_for(actor: Actor, form: dict[str, Any]) -> dict[str, Any]:
    """A case's form as ACTOR reads it: for an auditor without the resident's contact details."""
    o311 = form.get("open311")
    if shows_names(actor) or not isinstance(o311, dict):
        return form
    masked = {k: ("***" if k in OPEN311_CONTACT else v) for k, v in o311.items()}
    return {**form, "open311": masked}


def open311_published() -> ColumnElement[bool]:
    """The requests Open311 publishes: those filed through Open311 (any key's channel), as
    civic Open311 servers do; a case opened at a window is not published."""
    return Case.channel != WINDOW


def is_open311_published(case: Case) -> bool:
    return case.channel != WINDOW


def reads_attachment_files(actor: Actor) -> bool:
    """Who reads a case's files (photos, scanned ID cards and certificates) among those who see
    the case: everyone but an auditor, who reads what was attached from the trail (name, kind,
    size, hash), not the files themselves."""
    return shows_names(actor)


def is_open311_attachment(case: Case, attachment: Any) -> bool:
    """Open311 readers see a file only when it was marked public on a case Open311 publishes."""
    return bool(attachment.public) and is_open311_published(case)
