"""Verify's fast path on SQLite spells every event byte for byte as the chain hashed it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from tests.audit.helpers import head, intrude
from tests.conftest import T0
from workflow.audit import chain
from workflow.audit.spelling import SQLITE_FAST
from workflow.audit.verify import verify
from workflow.store.db import make_engine, make_sessionmaker
from workflow.store.migrate import upgrade
from workflow.store.models import TrailEvent

SECRET = "the-instance-secret"
# Every character class json.dumps(ensure_ascii=False) treats specially, and some it does not.
NASTY = [
    'quote " and backslash \\ and slash /',
    "controls \b\f\n\r\t \x00 \x01 \x1f \x7f end",
    "街道 「急」 — ü é ß \u2028 \u2029 \ufeff",
    "emoji 🚧👩‍🔧 and 𠀋",
    "",
    " ",
    "\\u0041 is not A",
    '{"seq":1}',
]
PORTABLE = [t.replace("\x00", "\x02") for t in NASTY]  # PostgreSQL text holds no NUL


def nasty_data(i: int, *, extreme: bool) -> dict[str, Any]:
    texts = NASTY if extreme else PORTABLE
    data: dict[str, Any] = {
        "text": texts[i % len(texts)],
        "街": texts[(i + 1) % len(texts)],
        "n": [0, -1, 2**53 + 1, 10**30, 0.1, -2.5e-08, 1.0, None, True, False],
        "nested": {"z": {"a": [{}, []]}, "A": None, "\x00k" if extreme else "\x02k": "v"},
    }
    if extreme:  # PostgreSQL's jsonb reads these back as other numbers: SQLite only
        data["far"] = [1e300, 5e-324, -0.0, 1.7976931348623157e308]
    return data


def append_nasty(sessions: sessionmaker[Session], *, extreme: bool) -> None:
    """One event per NASTY string. EXTREME: also what PostgreSQL cannot store (NUL in text,
    integers beyond 32 bits in case_id, floats jsonb reads back as other numbers)."""
    for i, text in enumerate(NASTY if extreme else PORTABLE):
        with sessions.begin() as s:
            chain.lock_head(s)
            chain.append(
                s,
                at=T0 + dt.timedelta(microseconds=i * 1_000_001),
                actor=text or "x",
                action="case.transition",
                unit=(NASTY if extreme else PORTABLE)[-1 - i][:32],  # String(32) columns
                case_id=None if i % 2 else (10**12 if extreme else 1000) + i,
                trigger=text,
                from_state=None,
                to_state=text,
                from_holder=(NASTY if extreme else PORTABLE)[(i + 2) % len(NASTY)][:32],
                to_holder=None,
                reason=None if i == 3 else text,
                data=nasty_data(i, extreme=extreme),
            )


def test_sqlite_spells_each_event_as_python_canonical_json(tmp_path: Path) -> None:
    # A SQLite file of its own whatever --db says: this is about SQLite's JSON spelling.
    engine = make_engine(f"sqlite:///{tmp_path / 'spelling.db'}")
    try:
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        append_nasty(sessions, extreme=True)
        with sessions() as s:
            events = s.execute(select(TrailEvent).order_by(TrailEvent.seq)).scalars().all()
            expected = {
                ev.seq: ev.prev_hash.encode() + chain.canonical_json(chain.event_body(ev))
                for ev in events
            }
            assert len(expected) == len(NASTY)
            dbapi = s.connection().connection.driver_connection
            assert dbapi is not None
            rows = dbapi.execute(SQLITE_FAST, (0, 10**9)).fetchall()
            assert {row[0]: row[-1] for row in rows} == expected
            report = verify(s, SECRET)
        assert report.ok and report.events_checked == len(NASTY)
    finally:
        engine.dispose()


def test_a_trail_of_nasty_content_verifies(sessions: sessionmaker[Session]) -> None:
    before = head(sessions)
    append_nasty(sessions, extreme=False)
    for jobs in (1, 2):
        with sessions() as s:
            report = verify(s, SECRET, jobs=jobs)
        assert report.ok, report.problems
        assert report.events_checked == before + len(NASTY)


def test_same_content_spelled_otherwise_does_not_verify(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    seq = head(sessions) + 1
    append_nasty(sessions, extreme=False)
    # data re-spelled with spaces and keys out of order: the same content once parsed, but not
    # the bytes that were hashed, so it does not verify (a reader of the stored text could see
    # something else, as with a duplicate key).
    respelled = '{"text": "quote \\" and backslash \\\\ and slash /", "nested": {"A": null, ' + (
        '"z": {"a": [{}, []]}, "\\u0002k": "v"}, "n": [0, -1, 9007199254740993, '
        "1000000000000000000000000000000, 0.1, -2.5e-08, 1.0, null, true, false], "
        '"街": "controls \\b\\f\\n\\r\\t \\u0002 \\u0001 \\u001f \\u007f end"}'
    )
    data_sql = "CAST(:d AS json)" if engine.dialect.name == "postgresql" else ":d"
    for text in (respelled, respelled.replace("0.1", "0.2")):
        intrude(
            engine,
            (f"UPDATE trail_events SET data = {data_sql} WHERE seq = :s", {"d": text, "s": seq}),
        )
        for jobs in (1, 2):
            with sessions() as s:
                bad = verify(s, SECRET, jobs=jobs).first_bad
            assert bad is not None and (bad.seq, bad.kind) == (seq, "modified")


def test_an_instant_is_spelled_as_isoformat_spells_it() -> None:
    """format_at spells an instant from its fields: the very text isoformat gave (the trail's
    hashes of every event already written cover it), for any instant and zone."""
    east = dt.timezone(dt.timedelta(hours=8))
    instants = [
        dt.datetime(1, 1, 1, tzinfo=dt.UTC),
        dt.datetime(999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 30, 3, 4, 5, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 30, 0, 0, 0, 7, tzinfo=east),
        dt.datetime(2027, 3, 14, 15, 9, 26, 535_897, tzinfo=east),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC),
    ]
    instants += [T0 + dt.timedelta(microseconds=7_919 * i**3) for i in range(500)]
    for at in instants:
        iso = at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        assert iso.endswith("+00:00")
        assert chain.format_at(at) == iso[:-6] + "Z"
