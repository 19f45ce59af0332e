"""Whether a case was whistled (cases.whistled, migration 0035_lists10) is what its trail says:
set in the statement that appends its whistle event, undone with it, and set by the migration
for the cases whistled before it; a street's list of the whistles it blew gives, page after
page, the cases the trail's rule gives (the street's cases with a whistle event), with the same
count, and is read from the index of the whistled cases by street alone."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import ColumnElement, Engine, exists, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, seeded
from tests.queries.conftest import actor
from tests.queries.lists import assert_listed_and_counted
from tests.queries.test_case_units import _migrate
from tests.queries.test_counts_by_index import assert_read_from
from tests.tasks.helpers import STREET, at_street
from workflow import demo
from workflow.audit import replay
from workflow.queries import search
from workflow.runtime import engine as wf
from workflow.store.migrate import upgrade
from workflow.store.models import Case, TrailEvent

BEFORE = "0034_appr9"  # the schema before cases.whistled


def trail_rule() -> ColumnElement[bool]:
    """A whistled case as the list asked each case's trail before the column."""
    return exists().where(TrailEvent.case_id == Case.id, TrailEvent.trigger == "whistle")


def ids(s: Session, *where: ColumnElement[bool]) -> list[int]:
    return list(s.execute(select(Case.id).where(*where).order_by(Case.id.desc())).scalars())


def assert_same_as_the_trail(s: Session) -> int:
    """The whistled cases are those the trail's rule gives; how many."""
    whistled = ids(s, trail_rule())
    assert ids(s, Case.whistled.is_(True)) == whistled
    return len(whistled)


def fill_month(engine: Engine, sessions: sessionmaker[Session]) -> None:
    """A month of demo cases (every item and route, sent back, whistled, dispatched, returned,
    merged, swept), the schema then taken back to before the column and migrated again: every
    whistle was blown before the migration."""
    demo.generate_cases(sessions, now=T0, days=30, per_workstation=3)
    demo.generate_practice(sessions, now=T0)
    _migrate(engine, BEFORE, down=True)
    upgrade(engine)


month_db, month = seeded("month", fill_month)


def test_the_migration_marks_the_cases_whistled_before_it(
    month: sessionmaker[Session],
) -> None:
    with month() as s:
        assert assert_same_as_the_trail(s) >= 5  # the month has whistles
        assert ids(s, Case.whistled.is_(False))  # and not the others


def test_the_searches_read_no_pending_entries_after_the_migration(
    month: sessionmaker[Session],
) -> None:
    """PostgreSQL: the backfill's updated rows are in the searches' trigram indexes themselves,
    not in the GIN pending lists that every phone, address or name search reads through until a
    vacuum (at a million cases: the phone search three times as slow)."""
    with month() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("GIN indexes are PostgreSQL's")
        pending: dict[str, int] = dict(
            s.execute(
                text(
                    "SELECT i.relname, gin_clean_pending_list(x.indexrelid) FROM pg_index x"
                    " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am a ON a.oid = i.relam"
                    " WHERE x.indrelid = 'cases'::regclass AND a.amname = 'gin'"
                )
            ).all()
        )
    assert pending and set(pending.values()) == {0}, pending


def test_whistles_blown_after_the_migration_mark_their_cases(
    month: sessionmaker[Session],
) -> None:
    with month() as s:
        before = assert_same_as_the_trail(s)
    # More history after the migration: returns, urgent cases, dispatches, a sweep; whistles.
    demo.generate_practice(month, now=T0 + dt.timedelta(days=1))
    with month.begin() as s:
        for _ in range(3):
            case_id = at_street(s, "PS-06", T0 + dt.timedelta(days=1))
            wf.fire(s, case_id, "whistle", STREET, reason="占道经营，需报到", targets=["D-GA"])
    with month() as s:
        assert assert_same_as_the_trail(s) == before + 3


def test_a_whistle_marks_its_case_in_the_statement_that_appends_its_event(
    sessions: sessionmaker[Session],
) -> None:
    with sessions() as s, s.begin():
        case_id = at_street(s, "PS-06")
        assert not s.get(Case, case_id).whistled  # type: ignore[union-attr]
        wf.fire(s, case_id, "whistle", STREET, reason="占道经营，需报到", targets=["D-GA"])
        s.flush()
        assert s.scalar(select(Case.whistled).where(Case.id == case_id)) is True
        assert search.find(
            s, actor=STREET, filters=search.Filters(view="whistled"), limit=5
        ).items == [s.get(Case, case_id)]
        s.rollback()  # the event not written: nor is the mark
    with sessions() as s:
        assert s.scalar(select(func.count()).where(Case.whistled.is_(True))) == 0
    with sessions.begin() as s:
        case_id = at_street(s, "PS-06")
        wf.fire(s, case_id, "whistle", STREET, reason="占道经营，需报到", targets=["D-GA"])
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.whistled
        assert case.whistle_target is None  # what the case said of its whistle before
        assert_same_as_the_trail(s)


def test_each_street_lists_and_counts_the_whistles_the_trail_says_it_blew(
    month: sessionmaker[Session],
) -> None:
    with month() as s:
        checked = 0
        streets = s.execute(select(Case.street).distinct()).scalars()
        for street in sorted(x for x in streets if x):
            who = actor(street, "staff")
            for f, more in (
                (search.Filters(view="whistled"), ()),
                (search.Filters(view="whistled", state="closed"), (Case.state == "closed",)),
            ):
                expected = ids(s, Case.street == street, trail_rule(), *more)
                assert_listed_and_counted(s, who, f, expected, per_page=4)
                checked += len(expected)
        assert checked > 10


def test_a_streets_whistles_are_read_from_the_index_of_the_whistled_cases_alone(
    month: sessionmaker[Session],
) -> None:
    """The page and its count read the index of the whistled cases by street, without the
    cases' rows or a sort (SQLite); PostgreSQL takes it too (its scans forced off: a month of
    cases is a few pages)."""
    engine = month.kw["bind"]
    if engine.dialect.name == "postgresql":
        usable_by_new_transactions(engine, "ix_cases_street_whistled")
    with month() as s:
        if s.get_bind().dialect.name == "postgresql":
            # The month's own statistics: the migrations analyzed the cases while they were
            # none, and on an empty table's numbers the planner may take the street's index.
            s.execute(text("ANALYZE cases"))
        where = search.where(s, STREET, search.Filters(view="whistled"))
        assert_read_from(s, where, "ix_cases_street_whistled")


def usable_by_new_transactions(engine: Engine, index: str, wait_s: float = 60.0) -> None:
    """Wait until PostgreSQL lets a new transaction plan with INDEX. The fixture's migration
    built it over rows its backfill had just updated in place (HOT), so PostgreSQL marked it
    usable only by transactions whose oldest running transaction began after it (pg_index's
    indcheckxmin). Any transaction still running on the server from before, in another test
    run, say, kept the planner from seeing it: twice in CI's rehearsals."""
    # (By age, as PostgreSQL compares xids: the index's row older than the snapshot's xmin.)
    usable = text(
        "SELECT NOT i.indcheckxmin"
        " OR age(i.xmin) > age(pg_snapshot_xmin(pg_current_snapshot())::xid)"
        " FROM pg_index i WHERE i.indexrelid = CAST(:index AS regclass)"
    )
    deadline = time.monotonic() + wait_s
    while True:
        with engine.connect() as c:
            if c.execute(usable, {"index": index}).scalar_one():
                return
        assert time.monotonic() < deadline, f"{index} still unusable after {wait_s} s"
        time.sleep(0.2)


def test_audit_replay_names_a_case_whose_mark_is_not_what_its_trail_says(
    month: sessionmaker[Session],
) -> None:
    with month() as s:
        assert list(replay.differences(s)) == []
        whistled, plain = ids(s, trail_rule())[0], ids(s, ~trail_rule())[0]
    with month.begin() as s:
        s.execute(update(Case).where(Case.id == whistled).values(whistled=False))
        s.execute(update(Case).where(Case.id == plain).values(whistled=True))
    with month() as s:
        found = {(d.kind, d.id, d.field): (d.stored, d.trail) for d in replay.differences(s)}
    assert found == {
        ("case", whistled, "whistled"): (False, True),
        ("case", plain, "whistled"): (True, False),
    }
