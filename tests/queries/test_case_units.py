"""The units that hold or have held each case (case_units): a department's scope read from it
gives exactly the cases the trail's rule gives (the unit holds the case now, or an event of the
case's trail handed it the case), on an instance with varied histories: after the migration's
backfill of cases written before it, and as the engine appends events after it."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import ColumnElement, Engine, exists, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, seeded
from tests.queries.conftest import actor
from workflow import demo, privacy
from workflow.catalog import registry
from workflow.queries import cases, search, trail
from workflow.runtime import engine as wf
from workflow.store.migrate import alembic_config, upgrade
from workflow.store.models import Case, CaseUnit, TrailEvent

NOW = T0
BEFORE = "0022_appraisal_scale"  # the schema before case_units


def trail_rule(unit: str) -> ColumnElement[bool]:
    """The rule as the scope asked it of each case's trail before case_units."""
    return or_(
        Case.holder == unit,
        exists().where(TrailEvent.to_holder == unit, TrailEvent.case_id == Case.id),
    )


def handed_rule(unit: str) -> ColumnElement[bool]:
    return exists().where(TrailEvent.to_holder == unit, TrailEvent.case_id == Case.id)


def ids(s: Session, where: ColumnElement[bool]) -> set[int]:
    return set(s.execute(select(Case.id).where(where)).scalars())


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def fill_varied(engine: Engine, sessions: sessionmaker[Session]) -> None:
    """A month of demo cases (every item and route, sent back, whistled, dispatched, returned,
    merged, swept), then the schema taken back to before case_units (the table dropped) and
    migrated again: the cases were written before the migration. (Written at the head: the
    models are the head's, which a later migration's column kept from writing at BEFORE.)"""
    demo.generate_cases(sessions, now=NOW, days=30, per_workstation=3)
    demo.generate_practice(sessions, now=NOW)
    _migrate(engine, BEFORE, down=True)
    upgrade(engine)


varied_db, varied = seeded("varied", fill_varied)


def units(s: Session) -> list[str]:
    return [*sorted(registry.units(s).units), "X-NONE"]


def assert_same_as_the_trail(s: Session) -> int:
    """Every unit's held cases and handed cases by case_units equal the trail's rule; the
    number of (unit, case) pairs compared."""
    pairs = 0
    for unit in units(s):
        expected = ids(s, trail_rule(unit))
        assert ids(s, privacy.held_by(unit)) == expected, unit
        assert ids(s, privacy.held_by_each(unit)) == expected, unit
        assert ids(s, privacy.handed(unit)) == ids(s, handed_rule(unit)), unit
        pairs += len(expected)
    return pairs


def test_the_backfill_gives_every_unit_the_cases_the_trail_gives(
    varied: sessionmaker[Session],
) -> None:
    with varied() as s:
        pairs = assert_same_as_the_trail(s)
        assert pairs > 200  # the histories are varied: many units held many cases
        departments = [u for u, x in registry.units(s).units.items() if x.kind == "department"]
        held = [u for u in departments if ids(s, handed_rule(u))]
        assert len(held) >= 5
        distinct = s.execute(
            select(func.count()).select_from(
                select(TrailEvent.to_holder, TrailEvent.case_id)
                .where(TrailEvent.to_holder.is_not(None), TrailEvent.case_id.is_not(None))
                .distinct()
                .subquery()
            )
        ).scalar_one()
        assert s.execute(select(func.count()).select_from(CaseUnit)).scalar_one() == distinct


def test_events_appended_after_the_migration_are_kept_in_step(
    varied: sessionmaker[Session],
) -> None:
    # More history after the migration: returns, urgent cases, dispatches, a sweep.
    demo.generate_practice(varied, now=NOW + dt.timedelta(days=1))
    with varied() as s:
        assert_same_as_the_trail(s)


def test_a_department_lists_what_it_holds_or_held_and_its_auditor_reads_that_part(
    varied: sessionmaker[Session],
) -> None:
    with varied() as s:
        for unit in ("D-ZF", "D-GA", "D-ZJ", "D-MZ", "H-SN"):
            expected = ids(s, trail_rule(unit))
            staff = actor(unit, "staff")
            found = search.find(s, actor=staff, filters=search.Filters(), limit=10_000)
            assert {c.id for c in found.items} == expected, unit
            listed = cases.list_cases(s, actor=staff, limit=10_000)
            assert {c.id for c in listed.items} == expected
            assert listed.total == len(expected) or not listed.exact
            handled = search.find(
                s, actor=staff, filters=search.Filters(view="handled"), limit=10_000
            )
            assert {c.id for c in handled.items} == ids(s, handed_rule(unit))
            inbox = search.find(s, actor=staff, filters=search.Filters(view="inbox"), limit=10_000)
            assert {c.id for c in inbox.items} == ids(s, Case.holder == unit)
            queue = cases.whistles(s, actor=staff, limit=10_000)
            assert {c.id for c in queue.items} == ids(
                s, (Case.holder == unit) & (Case.state == "awaiting_report")
            )
            events = trail.list_events(s, actor=actor(unit, "auditor"), limit=100_000)
            read = {e.seq for e in events.items}
            assert read == set(
                s.execute(
                    select(TrailEvent.seq).where(
                        or_(
                            exists().where(Case.id == TrailEvent.case_id, trail_rule(unit)),
                            (TrailEvent.case_id.is_(None)) & (TrailEvent.unit == unit),
                        )
                    )
                ).scalars()
            )


def to_a_department(s: Session) -> Case:
    """A dibao application opened at W-ZHL-01 and walked up to the civil affairs department."""
    case = wf.open_case(
        s,
        item="SW-02",
        workstation="W-ZHL-01",
        actor=actor("W-ZHL-01", "clerk"),
        applicant_name="王芳",
        applicant_phone="13800001234",
        description="路灯不亮",
    )
    for trigger, unit, role in (
        ("accept", "W-ZHL-01", "clerk"),
        ("forward", "W-ZHL-01", "clerk"),
        ("forward", "S-ZHL", "staff"),
    ):
        wf.fire(s, case.id, trigger, actor(unit, role))
    return case


def test_a_case_handed_to_a_department_is_in_its_scope_in_the_same_transaction(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s, s.begin():
        case = to_a_department(s)
        dept = case.holder
        assert dept is not None and dept.startswith("D-")
        s.flush()
        assert case.id in ids(s, privacy.handed(dept))
        s.rollback()  # the event not written: nor is the unit's row
    with sessions() as s:
        assert s.execute(select(func.count()).select_from(CaseUnit)).scalar_one() == 0
    with sessions.begin() as s:
        case = to_a_department(s)
        wf.fire(s, case.id, "send_back", actor(case.holder or "", "staff"), reason="理由")
        case_id = case.id
    with sessions() as s:
        # Sent back: the department holds it no more and still sees it, as before.
        assert s.get(Case, case_id).holder == "S-ZHL"  # type: ignore[union-attr]
        assert case_id in ids(s, privacy.held_by(dept))
        assert_same_as_the_trail(s)
