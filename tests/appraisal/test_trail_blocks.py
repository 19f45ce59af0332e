"""An appraisal record covers the stored trail by blocks of seqs (digest version 2): each full
block digested once and stored, the tail after it digested afresh; a row changed after its
block was digested is named by `audit verify` and by the appraisal's verify. Records of
version 1 (the whole trail's digest) still verify. Blocks of 7 seqs here, so that the small
month below fills a few."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.appraisal.month import at, build_november, nov
from tests.audit.helpers import head, intrude, rehash_from
from workflow.appraisal import records as appraisal
from workflow.audit import blocks, chain, spelling
from workflow.audit.verify import verify
from workflow.store.models import AppraisalRecord, TrailBlock, TrailEvent

NOV = "2026-11"
SIZE = 7
SECRET = "the-instance-secret"


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blocks, "SIZE", SIZE)


def digest_of_events(sessions: sessionmaker[Session], first: int, last: int) -> str:
    """SHA-256 over events FIRST..LAST as their hashes cover them, worked out from the ORM
    (prev_hash, then the canonical JSON of the event), not from the stored text's SQL."""
    h = hashlib.sha256()
    with sessions() as s:
        for ev in s.execute(
            select(TrailEvent).where(TrailEvent.seq.between(first, last)).order_by(TrailEvent.seq)
        ).scalars():
            h.update(ev.prev_hash.encode() + chain.canonical_json(chain.event_body(ev)))
    return h.hexdigest()


def expected_read(sessions: sessionmaker[Session], upto: int) -> tuple[list[str], str]:
    """The digests of the full blocks up to UPTO, and the record's digest over them and the
    tail, worked out by hand."""
    full = upto // SIZE
    digests = [digest_of_events(sessions, k * SIZE + 1, (k + 1) * SIZE) for k in range(full)]
    tail = digest_of_events(sessions, full * SIZE + 1, upto)
    return digests, hashlib.sha256("".join([*digests, tail]).encode()).hexdigest()


def stored_blocks(sessions: sessionmaker[Session]) -> list[tuple[int, int, str]]:
    with sessions() as s:
        rows = s.execute(
            select(TrailBlock.first_seq, TrailBlock.last_seq, TrailBlock.digest).order_by(
                TrailBlock.first_seq
            )
        ).all()
    return [tuple(r) for r in rows]


def test_a_record_digests_full_blocks_once_and_the_tail_each_time(
    sessions: sessionmaker[Session],
) -> None:
    build_november(sessions)
    upto = head(sessions)
    assert upto > 3 * SIZE and upto % SIZE, "a few full blocks and a tail"
    with sessions.begin() as s:
        inputs = appraisal.compute(s, NOV, now=nov(30, 23))[0].inputs
    digests, read = expected_read(sessions, upto)
    assert inputs["last_seq"] == upto
    assert "trail_read" not in inputs
    assert inputs["trail_read_blocks"] == {"size": SIZE, "digest": read}
    full = upto // SIZE
    assert stored_blocks(sessions) == [
        (k * SIZE + 1, (k + 1) * SIZE, digests[k]) for k in range(full)
    ]
    with sessions() as s:
        first_computed = s.execute(select(TrailBlock.computed_at)).scalars().all()
    # Computed again: the blocks are taken as stored, none computed anew.
    with sessions.begin() as s:
        again = appraisal.compute(s, NOV, now=nov(30, 23))[0].inputs
    assert again["trail_read_blocks"] == inputs["trail_read_blocks"]
    with sessions() as s:
        assert s.execute(select(TrailBlock.computed_at)).scalars().all() == first_computed
        assert appraisal.verify(s, NOV) == (113, [])


def test_a_row_changed_after_its_block_was_digested_is_named_by_both_verifies(
    env: Path, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    build_november(sessions)
    with sessions.begin() as s:
        appraisal.finalize(s, NOV, actor="auditor", now=at(12, 1, 9))
    digested = [first for first, _, _ in stored_blocks(sessions)]
    assert len(digested) > 3
    # An event of the second block, rewritten, and every hash from it on recomputed (the head
    # too): the chain holds again, only the blocks' stored digests know. (Every later event's
    # prev_hash changed too: every block from the second on is named.)
    seq = SIZE + 3
    with sessions() as s:
        reason = s.get_one(TrailEvent, seq).reason
    intrude(engine, ("UPDATE trail_events SET reason = :r WHERE seq = :s", {"r": "改过", "s": seq}))
    rehash_from(engine, seq)
    assert reason != "改过"
    for jobs in (1, 2):  # in this process, and the blocks over two (a SQLite file)
        with sessions() as s:
            report = verify(s, SECRET, jobs=jobs)
        assert [(p.seq, p.kind) for p in report.problems] == [
            (first, "block_changed") for first in digested[1:]
        ]
        detail = report.problems[0].detail
        assert f"events {SIZE + 1}..{2 * SIZE} no longer give the digest" in detail
        code, out = run("audit", "verify", "--jobs", str(jobs))
        assert code == 1, out
        assert (
            f"trail BROKEN at seq {SIZE + 1}: block_changed: events {SIZE + 1}..{2 * SIZE}" in out
        )
    with sessions() as s:
        _, problems = appraisal.verify(s, NOV)
    assert (
        f"the stored trail events {SIZE + 1}..{2 * SIZE} no longer give the digest stored for "
        "their block: changed after the block was digested"
    ) in problems


def test_a_version_1_record_verifies_by_the_whole_trails_digest(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    """A record computed before the blocks carries `trail_read`, the digest of the stored text
    of events 1..last_seq, and is verified by it."""
    build_november(sessions)
    upto = head(sessions)
    with sessions.begin() as s:
        appraisal.compute(s, NOV, now=nov(30, 23))
        inputs = dict(s.execute(select(AppraisalRecord.inputs).limit(1)).scalar_one())
        del inputs["trail_read_blocks"]
        inputs["trail_read"] = spelling.stored_digest(s.connection(), upto)
        s.execute(update(AppraisalRecord).values(inputs=inputs, digest=appraisal.digest_of(inputs)))
    # The whole trail's digest, worked out by hand, is what the record holds.
    assert inputs["trail_read"] == digest_of_events_whole(sessions, upto)
    with sessions() as s:
        assert appraisal.verify(s, NOV) == (113, [])
    intrude(engine, ("UPDATE trail_events SET reason = :r WHERE seq = :s", {"r": "改过", "s": 5}))
    with sessions() as s:
        _, problems = appraisal.verify(s, NOV)
    assert f"the stored trail events 1..{upto} are not those the records of {NOV} were " in (
        " ".join(problems)
    )


def digest_of_events_whole(sessions: sessionmaker[Session], upto: int) -> str:
    return digest_of_events(sessions, 1, upto)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout + result.stderr


def test_audit_blocks_digests_the_full_blocks_ahead_of_time(
    env: Path, sessions: sessionmaker[Session]
) -> None:
    build_november(sessions)
    upto = head(sessions)
    full = upto // SIZE
    code, out = run("audit", "blocks")
    assert code == 0, out
    assert f"digested block 1..{SIZE} (1 of {full} full blocks)" in out
    assert (
        f"trail blocks: {full} full block(s) of {SIZE:,} seqs digested, {full} of them now" in out
    )
    digests, read = expected_read(sessions, upto)
    assert [d for _, _, d in stored_blocks(sessions)] == digests
    code, out = run("audit", "blocks")
    assert (code, out.splitlines()[-1]) == (
        0,
        f"trail blocks: {full} full block(s) of {SIZE:,} seqs digested, 0 of them now",
    )
    # A computation finds them stored, and its record's digest is the same.
    with sessions.begin() as s:
        inputs = appraisal.compute(s, NOV, now=nov(30, 23))[0].inputs
    assert inputs["trail_read_blocks"]["digest"] == read
    assert len(stored_blocks(sessions)) == full
    code, out = run("audit", "verify")
    assert code == 0, out


def test_the_database_refuses_to_change_a_stored_block_and_verify_names_one_changed_anyway(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    """A block's stored digest is evidence like the trail itself: UPDATE, DELETE (and TRUNCATE on
    PostgreSQL) are refused while the triggers stand; an intruder who drops them and rewrites a
    digest is still named by `audit verify`, which recomputes every stored block."""
    build_november(sessions)
    with sessions.begin() as s:
        appraisal.finalize(s, NOV, actor="auditor", now=at(12, 1, 9))
    stored = stored_blocks(sessions)
    assert len(stored) > 3
    statements = ["UPDATE trail_blocks SET digest = 'x'", "DELETE FROM trail_blocks"]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE trail_blocks")
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    assert stored_blocks(sessions) == stored
    with sessions() as s:
        assert verify(s, SECRET).ok
    first = stored[2][0]
    intrude(
        engine,
        ("UPDATE trail_blocks SET digest = :d WHERE first_seq = :f", {"d": "0" * 64, "f": first}),
    )
    with sessions() as s:
        report = verify(s, SECRET)
    assert [(p.seq, p.kind) for p in report.problems] == [(first, "block_changed")]
