"""fire() writes with Core statements: what a caller holding the case, or the database, sees."""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0
from workflow.actors import Actor
from workflow.audit import chain
from workflow.audit.verify import verify
from workflow.errors import InvalidInput, StaleVersion
from workflow.runtime import engine
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.models import Case, TrailEvent, UTCDateTime


def open_incident(s: Session, clerk: Actor) -> int:
    case = engine.open_case(
        s,
        item="UD-01",
        workstation="W-ZHL-01",
        actor=clerk,
        applicant_name="李娜",
        applicant_phone="13912345678",
        now=T0,
    )
    return case.id


def test_a_case_held_by_the_session_shows_the_firing(
    sessions: sessionmaker[Session], clerk: Actor
) -> None:
    with sessions.begin() as s:
        cid = open_incident(s, clerk)
    with sessions.begin() as s:
        held = s.get(Case, cid)
        assert held is not None and held.state == "reported"
        before = held.version
        ev = engine.fire(s, cid, "accept", clerk, now=T0)
        # No refresh: the session's own Case shows the row as written, version and all.
        assert (held.state, held.holder, held.version) == ("ws_handling", "W-ZHL-01", before + 1)
        assert held.stage_seq == ev.seq
        # ... and it is clean: committing writes nothing more (no second version bump).
        engine.fire(s, cid, "forward", clerk, expected_version=held.version, now=T0)
    with sessions.begin() as s:
        case = s.execute(select(Case).where(Case.id == cid)).scalar_one()
        assert (case.state, case.version) == ("street_handling", before + 2)
        events = s.execute(
            select(TrailEvent).where(TrailEvent.case_id == cid).order_by(TrailEvent.seq)
        ).scalars()
        stored = {e.seq: e for e in events}
        assert stored[ev.seq].hash == ev.hash and stored[ev.seq].data == ev.data
        assert chain.event_dict(stored[ev.seq]) == chain.event_dict(ev)


def test_a_stale_expected_version_changes_nothing(
    sessions: sessionmaker[Session], clerk: Actor
) -> None:
    with sessions.begin() as s:
        cid = open_incident(s, clerk)
        version = s.get(Case, cid).version  # type: ignore[union-attr]
    with sessions.begin() as s, pytest.raises(StaleVersion):
        engine.fire(s, cid, "accept", clerk, expected_version=version + 1, now=T0)
    with sessions.begin() as s:
        assert s.get(Case, cid).state == "reported"  # type: ignore[union-attr]


def test_a_locked_sqlite_database_is_sqlalchemys_operational_error(
    db_kind: str, db_url: str, sessions: sessionmaker[Session], clerk: Actor
) -> None:
    """The API and CLI answer SQLAlchemy's OperationalError (busy database) with a clear message,
    so fire()'s statements on SQLite's own cursor must raise that, not the driver's error."""
    if db_kind != "sqlite":
        pytest.skip("SQLite's write lock")
    with sessions.begin() as s:
        cid = open_incident(s, clerk)
    other = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    other.execute("BEGIN IMMEDIATE")
    quick = make_engine(db_url, connect_args={"timeout": 0.1})
    try:
        with make_sessionmaker(quick).begin() as s:
            s.connection().exec_driver_sql("PRAGMA busy_timeout=100")
            with pytest.raises(OperationalError):
                engine.fire(s, cid, "accept", clerk, now=T0)
    finally:
        other.rollback()
        other.close()
        quick.dispose()


def test_input_data_of_any_json_shape_is_stored_as_hashed(
    sessions: sessionmaker[Session], clerk: Actor
) -> None:
    """A firing's data is encoded once, for the row and for the hash: odd input (tuples, numeric
    keys, every kind of character) is stored as JSON gives it back, and the trail verifies."""
    with sessions.begin() as s:
        cid = open_incident(s, clerk)
    data = {
        "photos": ("a.jpg", "b.jpg"),
        "floors": {2: "two", 10: "ten"},
        "note": 'quote " 街道 「急」 \u2028 🚧 \t\r\n',
        "n": [0.1, -2.5e-08, 2**53 + 1, None, True],
    }
    with sessions.begin() as s:
        ev = engine.fire(s, cid, "accept", clerk, data=data, now=T0)
    expected = {
        "photos": ["a.jpg", "b.jpg"],
        "floors": {"2": "two", "10": "ten"},
        "note": data["note"],
        "n": data["n"],
    }
    assert ev.data["input"] == expected
    with sessions() as s:
        stored = s.get(TrailEvent, ev.seq)
        assert stored is not None and stored.data == ev.data
        assert chain.chain_hash(stored.prev_hash, chain.event_body(stored)) == stored.hash
        assert verify(s, "secret").ok


def test_data_that_is_not_json_is_refused_and_changes_nothing(
    sessions: sessionmaker[Session], clerk: Actor
) -> None:
    with sessions.begin() as s:
        cid = open_incident(s, clerk)
    with sessions.begin() as s, pytest.raises(InvalidInput):
        engine.fire(s, cid, "accept", clerk, data={"x": float("nan")}, now=T0)
    with sessions.begin() as s, pytest.raises(InvalidInput):
        engine.fire(s, cid, "accept", clerk, data={"when": T0}, now=T0)
    with sessions.begin() as s, pytest.raises(InvalidInput):
        # The text policy: no control characters (but tab, newline, CR), even nested.
        engine.fire(s, cid, "accept", clerk, data={"notes": ["ok", "\x01"]}, now=T0)
    with sessions.begin() as s:
        assert s.get(Case, cid).state == "reported"  # type: ignore[union-attr]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@settings(deadline=None)  # no timing assertion: a loaded CI machine is slow
@given(
    body=st.fixed_dictionaries({k: json_values for k in chain.HASHED_FIELDS if k != "data"}),
    data=st.dictionaries(st.text(), json_values, max_size=4),
)
def test_the_spliced_body_is_the_canonical_json_of_the_whole(
    body: dict[str, Any], data: dict[str, Any]
) -> None:
    assert chain.body_json(body, chain.canonical_text(data)) == chain.canonical_text(
        {**body, "data": data}
    )


@settings(deadline=None)
@given(
    at=st.datetimes(
        min_value=dt.datetime(1970, 1, 2),
        max_value=dt.datetime(9998, 12, 30),
        timezones=st.sampled_from(
            [dt.UTC, ZoneInfo("Asia/Shanghai"), dt.timezone(-dt.timedelta(hours=3, minutes=30))]
        ),
    )
)
def test_fast_spellings_of_a_time_are_the_slow_ones(at: dt.datetime) -> None:
    """format_at() and UTCDateTime's SQLite bind and result are the spellings they replace."""
    assert chain.format_at(at) == at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    dialect = sqlite.dialect()
    slow = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert slow is not None
    assert UTCDateTime.sqlite_bind(at) == slow(at)
    stored = slow(at)
    back = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert back is not None
    assert UTCDateTime.sqlite_result(stored) == back(stored)
    assert back(stored).timestamp() == at.timestamp()  # (== says False in a DST fold)
    assert UTCDateTime.sqlite_result(stored[:19]) == back(stored[:19])  # written without µs


def test_the_two_instants_of_a_fold_bind_as_two_texts_in_either_order() -> None:
    """The SQLite bind keeps the texts of instants bound again: the two instants of one wall
    time in a fold (Shanghai's summer time ended 1986-09-14 at 02:00) are equal in their zone,
    and must still be stored as two."""
    zone = ZoneInfo("Asia/Shanghai")
    first = dt.datetime(1986, 9, 14, 1, 30, tzinfo=zone, fold=0)
    second = first.replace(fold=1)
    assert first == second and first.timestamp() != second.timestamp()
    for a, b in ((first, second), (second, first)):
        assert UTCDateTime.sqlite_bind(a) != UTCDateTime.sqlite_bind(b)
        assert UTCDateTime.sqlite_bind(a) == a.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
