"""Each kind of tampering, done with plain SQL behind the engine's back, is found and named."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tests.audit.helpers import (
    body_of,
    head,
    insert_sql,
    intrude,
    make_cases,
    rehash_from,
    row_of,
)
from tests.conftest import T0
from workflow.audit import chain
from workflow.audit.checkpoints import Anchor, checkpoint, checkpoint_if_due
from workflow.audit.verify import Report, verify

SECRET = "the-instance-secret"


def check(sessions: sessionmaker[Session], anchors: list[Anchor] | None = None) -> Report:
    with sessions() as s:
        return verify(s, SECRET, anchors=anchors or [])


def first_bad(sessions: sessionmaker[Session]) -> tuple[int, str]:
    report = check(sessions)
    assert not report.ok
    bad = report.first_bad
    assert bad is not None
    return bad.seq, bad.kind


def sign_head(sessions: sessionmaker[Session], at: dt.datetime = T0) -> Anchor:
    with sessions.begin() as s:
        return checkpoint(s, SECRET, now=at)


@pytest.fixture
def trail(sessions: sessionmaker[Session]) -> int:
    """A real trail (definitions published, then 4 cases of 3 events); its head seq."""
    make_cases(sessions)
    report = check(sessions)
    assert report.ok, report.problems
    assert report.events_checked == head(sessions) > 12
    return head(sessions)


def test_the_database_refuses_update_and_delete_while_the_triggers_stand(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    sign_head(sessions)
    statements = [
        "UPDATE trail_events SET reason = 'x' WHERE seq = 3",
        "DELETE FROM trail_events WHERE seq = 3",
        "UPDATE checkpoints SET seq = 1",
        "DELETE FROM checkpoints",
    ]
    if engine.dialect.name == "postgresql":
        statements += ["TRUNCATE trail_events", "TRUNCATE checkpoints"]
    for sql in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(sql))
    report = check(sessions)
    assert report.ok and report.events_checked == trail and report.checkpoints_checked == 1


def test_modified_content(engine: Engine, sessions: sessionmaker[Session], trail: int) -> None:
    intrude(engine, "UPDATE trail_events SET reason = 'nothing happened' WHERE seq = 7")
    assert first_bad(sessions) == (7, "modified")


def test_modified_data_inside_the_json(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    body = body_of(engine, trail - 1)
    data = {**body["data"], "due_at": None}
    intrude(
        engine,
        (
            "UPDATE trail_events SET data = :d WHERE seq = :s",
            {"d": chain.canonical_json(data).decode(), "s": trail - 1},
        ),
    )
    assert first_bad(sessions) == (trail - 1, "modified")


def test_modified_and_its_own_hash_recomputed(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    body = {**body_of(engine, 8), "actor": "someone else"}
    prev = body_of(engine, 7)  # only to get the stored link below
    assert prev["seq"] == 7
    with Session(engine) as s:
        prev_hash = s.execute(text("SELECT prev_hash FROM trail_events WHERE seq = 8")).scalar()
    intrude(
        engine,
        (
            "UPDATE trail_events SET actor = 'someone else', hash = :h WHERE seq = 8",
            {"h": chain.chain_hash(prev_hash, body)},
        ),
    )
    assert first_bad(sessions) == (8, "modified")


def test_missing_event(engine: Engine, sessions: sessionmaker[Session], trail: int) -> None:
    intrude(engine, "DELETE FROM trail_events WHERE seq IN (9, 10)")
    assert first_bad(sessions) == (9, "missing")


def test_missing_event_with_later_ones_renumbered(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    intrude(
        engine,
        "DELETE FROM trail_events WHERE seq = 9",
        "UPDATE trail_events SET seq = -seq WHERE seq > 9",
        "UPDATE trail_events SET seq = -seq - 1 WHERE seq < 0",
        "UPDATE trail_head SET seq = seq - 1",
    )
    assert first_bad(sessions) == (9, "missing")


def test_inserted_event_with_later_ones_renumbered(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    # A well-formed forged event linked to event 10, the rest moved up by one.
    forged = {**body_of(engine, 11), "seq": 11, "reason": "a decision nobody made"}
    h10 = row_of(engine, 10)["hash"]
    row = row_of(engine, 11)
    row.update(reason=forged["reason"], prev_hash=h10, hash=chain.chain_hash(h10, forged))
    intrude(
        engine,
        "UPDATE trail_events SET seq = -seq WHERE seq >= 11",
        "UPDATE trail_events SET seq = -seq + 1 WHERE seq < 0",
        insert_sql(engine, row),
        "UPDATE trail_head SET seq = seq + 1",
    )
    assert first_bad(sessions) == (11, "inserted")


def test_inserted_beyond_the_head(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    row = row_of(engine, trail)
    body = {**body_of(engine, trail), "seq": trail + 1}
    row.update(seq=trail + 1, prev_hash=row["hash"], hash=chain.chain_hash(row["hash"], body))
    intrude(engine, insert_sql(engine, row))
    assert first_bad(sessions) == (trail + 1, "inserted")


def test_reordered_events(engine: Engine, sessions: sessionmaker[Session], trail: int) -> None:
    intrude(
        engine,
        "UPDATE trail_events SET seq = -1 WHERE seq = 12",
        "UPDATE trail_events SET seq = 12 WHERE seq = 13",
        "UPDATE trail_events SET seq = 13 WHERE seq = -1",
    )
    assert first_bad(sessions) == (12, "reordered")


def test_truncated_below_a_signed_checkpoint(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    sign_head(sessions)
    with Session(engine) as s:
        h = s.execute(text(f"SELECT hash FROM trail_events WHERE seq = {trail - 3}")).scalar_one()
    # A careful intruder also moves the head back: only the signed checkpoint tells.
    intrude(
        engine,
        f"DELETE FROM trail_events WHERE seq > {trail - 3}",
        (f"UPDATE trail_head SET seq = {trail - 3}, hash = :h WHERE id = 1", {"h": h}),
    )
    assert first_bad(sessions) == (trail - 2, "truncated")


def test_truncated_below_the_head(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    intrude(engine, f"DELETE FROM trail_events WHERE seq > {trail - 2}")
    assert first_bad(sessions) == (trail - 1, "truncated")


def test_rebuilt_chain_is_caught_by_the_checkpoint(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    sign_head(sessions)  # at seq `trail`
    make_cases(sessions, 2)
    sign_head(sessions, T0 + dt.timedelta(hours=1))
    # Edit an event after the first checkpoint and recompute every hash from there on.
    intrude(engine, f"UPDATE trail_events SET to_holder = 'D-ZF' WHERE seq = {trail + 2}")
    rehash_from(engine, trail + 2)
    with sessions() as s:
        report = verify(s, SECRET)
    assert [(p.seq, p.kind) for p in report.problems] == [(trail + 1, "rebuilt")]
    # Without any checkpoint the rebuilt chain would pass: the anchor is what catches it.
    intrude(engine, "DELETE FROM checkpoints")
    assert check(sessions).ok


def test_rebuilt_chain_is_caught_by_an_anchor_kept_outside(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    anchor = sign_head(sessions)
    intrude(engine, "UPDATE trail_events SET reason = 'rewritten' WHERE seq = 5")
    rehash_from(engine, 5)
    intrude(engine, "DELETE FROM checkpoints")  # the intruder removes what they can see
    outside = Anchor.from_json(__import__("json").dumps(anchor.as_dict()))
    with sessions() as s:
        report = verify(s, SECRET, anchors=[outside])
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.kind) == (1, "rebuilt")


def test_forged_checkpoint(engine: Engine, sessions: sessionmaker[Session], trail: int) -> None:
    intrude(engine, "UPDATE trail_events SET reason = 'rewritten' WHERE seq = 5")
    rehash_from(engine, 5)
    with Session(engine) as s:
        h = s.execute(text(f"SELECT hash FROM trail_events WHERE seq = {trail}")).scalar_one()
    # Without the secret the intruder cannot sign their rebuilt head.
    intrude(
        engine,
        (
            "INSERT INTO checkpoints (seq, hash, at, signature) VALUES (:s, :h, :at, :sig)",
            {"s": trail, "h": h, "at": T0.replace(tzinfo=None), "sig": "0" * 64},
        ),
    )
    assert first_bad(sessions) == (trail, "forged_checkpoint")


def test_checkpoints_hold_on_an_intact_trail(sessions: sessionmaker[Session], trail: int) -> None:
    first = sign_head(sessions)
    make_cases(sessions, 1)
    second = sign_head(sessions, T0 + dt.timedelta(minutes=5))
    report = check(sessions)
    assert report.ok and report.checkpoints_checked == 2
    assert (first.seq, second.seq) == (trail, trail + 3)
    # Signed with another secret, the same checkpoints do not verify.
    with sessions() as s:
        other = verify(s, "another secret")
    assert {p.kind for p in other.problems} == {"forged_checkpoint"}


def test_garbage_in_a_column_is_named_not_a_crash(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    if engine.dialect.name == "sqlite":  # PostgreSQL's types refuse it at the door
        intrude(engine, "UPDATE trail_events SET at = 'yesterday' WHERE seq = 4")
    else:
        intrude(engine, "UPDATE trail_events SET at = at + interval '1 second' WHERE seq = 4")
    assert first_bad(sessions) == (4, "modified")


def test_a_deleted_head_is_reported_and_the_trail_still_checked(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    intrude(engine, "DELETE FROM trail_head")
    report = check(sessions)
    assert report.events_checked == trail
    assert [(p.seq, p.kind) for p in report.problems] == [(0, "missing")]


def test_checkpoint_if_due_signs_the_head_when_it_is_time_and_the_trail_grew(
    sessions: sessionmaker[Session], trail: int
) -> None:
    hour = dt.timedelta(hours=1)
    with sessions.begin() as s:
        first = checkpoint_if_due(s, T0, every=hour, secret=SECRET)
    assert first is not None and first.seq == trail
    with sessions.begin() as s:  # too soon
        assert checkpoint_if_due(s, T0 + hour / 2, every=hour, secret=SECRET) is None
    with sessions.begin() as s:  # time, but nothing new to sign
        assert checkpoint_if_due(s, T0 + 2 * hour, every=hour, secret=SECRET) is None
    make_cases(sessions, 1)
    with sessions.begin() as s:
        second = checkpoint_if_due(s, T0 + 2 * hour, every=hour, secret=SECRET)
    assert second is not None and second.seq == trail + 3
    report = check(sessions)
    assert report.ok and report.checkpoints_checked == 2


def test_parallel_verify_agrees_with_the_sequential_one(
    engine: Engine, sessions: sessionmaker[Session], trail: int
) -> None:
    sign_head(sessions)
    with sessions() as s:
        report = verify(s, SECRET, jobs=3)
    assert report.ok and report.events_checked == trail and report.checkpoints_checked == 1
    intrude(engine, "UPDATE trail_events SET reason = 'x' WHERE seq = 9")
    rehash_from(engine, 9)
    with sessions() as s:
        report = verify(s, SECRET, jobs=3)
    assert [(p.seq, p.kind) for p in report.problems] == [(1, "rebuilt")]
    # A break in the walk is named where it is: the walk does not reach the checkpoint.
    intrude(engine, "DELETE FROM trail_events WHERE seq = 20")
    with sessions() as s:
        bad = verify(s, SECRET, jobs=3).first_bad
    assert bad is not None and (bad.seq, bad.kind) == (20, "missing")
