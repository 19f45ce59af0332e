"""The trail proves the text it stores, not only what that text parses to.

Each intruder below leaves a row that parses to what was hashed (so re-parsing and re-encoding it
would verify) while SQL and other readers of the stored text see something else."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.appraisal.month import STREET_ADMIN, build_november, nov
from tests.audit.helpers import head, intrude, make_cases
from workflow.appraisal import records as appraisal
from workflow.audit.verify import verify
from workflow.store.models import TrailEvent

SECRET = "the-instance-secret"
NOV = "2026-11"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout


def data_sql(engine: Engine, expr: str) -> str:
    """EXPR over the stored data text, stored back as the column's type."""
    if engine.dialect.name == "postgresql":
        return f"CAST({expr.replace('data', 'data::text', 1)} AS json)"
    return expr


def first_bad(sessions: sessionmaker[Session], jobs: int = 1) -> tuple[int, str] | None:
    with sessions() as s:
        bad = verify(s, SECRET, jobs=jobs).first_bad
    return (bad.seq, bad.kind) if bad else None


def assessment_seq(sessions: sessionmaker[Session], score: int) -> int:
    with sessions.begin() as s:
        appraisal.enter_assessment(
            s,
            actor=STREET_ADMIN,
            unit="A-ZHL-ZF",
            period=NOV,
            score=score,
            comment="按时到岗",
            now=nov(28, 10),
        )
    return head(sessions)


def test_a_duplicate_key_in_data_is_found_by_the_cli(
    env: Path, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    seq = assessment_seq(sessions, 60)
    # The first "score" is what SQL's JSON functions read; a parser keeps the last.
    forged = data_sql(engine, "replace(data, :old, :new)")
    intrude(
        engine,
        (
            f"UPDATE trail_events SET data = {forged} WHERE seq = {seq}",
            {"old": '"score":60', "new": '"score":95,"score":60'},
        ),
    )
    with sessions() as s:
        stored = s.execute(
            text("SELECT CAST(data AS TEXT) FROM trail_events WHERE seq = :s"), {"s": seq}
        ).scalar_one()
    assert '"score":95,"score":60' in stored
    for jobs in ("1", "2"):
        code, out = run("audit", "verify", "--jobs", jobs)
        assert code == 1, out
        assert f"trail BROKEN at seq {seq}: modified" in out


def test_a_respelled_or_retyped_column_does_not_verify(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    make_cases(sessions, 2)
    assert first_bad(sessions) is None
    spaced = data_sql(engine, "replace(data, ',', ', ')")
    if engine.dialect.name == "sqlite":
        tamperings = [
            # The same instant with a 'T': parsed alike, but it sorts after every ' ' spelling
            # of the same day, so it falls out of time-range queries.
            "UPDATE trail_events SET at = replace(at, ' ', 'T') WHERE seq = {seq}",
            # The same bytes as a blob: SQLite's JSON functions do not read it as JSON.
            "UPDATE trail_events SET data = CAST(data AS BLOB) WHERE seq = {seq}",
            "UPDATE trail_events SET actor = CAST(actor AS BLOB) WHERE seq = {seq}",
            "UPDATE trail_events SET data = " + spaced + " WHERE seq = {seq}",
        ]
    else:  # timestamptz and text have no other spelling; a json column keeps its text
        tamperings = [
            "UPDATE trail_events SET data = CAST(' ' || data::text AS json) WHERE seq = {seq}",
            "UPDATE trail_events SET data = " + spaced + " WHERE seq = {seq}",
        ]
    # From the last event back, so that each tampering is the first bad event in its turn.
    seq = head(sessions)
    for sql in tamperings:
        intrude(engine, sql.format(seq=seq))
        for jobs in (1, 2):
            assert first_bad(sessions, jobs) == (seq, "modified"), sql
        seq -= 1


def test_the_appraisal_digest_covers_the_stored_text_it_read(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    build_november(sessions)
    with sessions.begin() as s:
        first = appraisal.compute(s, NOV, now=nov(30, 23))
        digest = first[0].digest
    with sessions() as s:
        rated = s.execute(
            select(TrailEvent.seq)
            .where(TrailEvent.action == "case.rated")
            .order_by(TrailEvent.seq)
            .limit(1)
        ).scalar_one()
    # A 5 made a 1 for SQL's readers (the first key), while the text still parses to 5.
    forged = data_sql(engine, "replace(data, :old, :new)")
    intrude(
        engine,
        (
            f"UPDATE trail_events SET data = {forged} WHERE seq = {rated}",
            {"old": '"score":5', "new": '"score":1,"score":5'},
        ),
    )
    assert first_bad(sessions) == (rated, "modified")
    with sessions() as s:
        _, problems = appraisal.verify(s, NOV)
    assert any("not those the records of 2026-11 were computed from" in p for p in problems)
    with sessions.begin() as s:
        again = appraisal.compute(s, NOV, now=nov(30, 23))
    assert again[0].digest != digest
    assert again[0].inputs["last_hash"] == first[0].inputs["last_hash"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_honest_trail_still_verifies_on_every_path(
    sessions: sessionmaker[Session], jobs: int
) -> None:
    make_cases(sessions, 3)
    with sessions() as s:
        report = verify(s, SECRET, jobs=jobs)
    assert report.ok and report.events_checked == head(sessions)
