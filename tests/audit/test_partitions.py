"""A trail chained in several partitions: each partition's chain builds, verifies and is checked
by itself; tampering is found and named with its partition; checkpoints cover every head."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.audit.helpers import intrude
from tests.conftest import T0, open_case_as, walk
from workflow.actors import Actor
from workflow.audit import chain
from workflow.audit.checkpoints import Anchor, checkpoint, merkle_root
from workflow.audit.export import export_lines
from workflow.audit.verify import verify
from workflow.runtime import engine as wf
from workflow.store.models import Case, Checkpoint, SweepMark, TrailEvent, TrailHead

SECRET = "s3cret"
# Workstations of three streets: with three partitions, streets in code order dealt
# round-robin, S-ZHL goes to partition 1, S-XGZ to 2, S-YNL to 0.
WORKSTATIONS = ("W-ZHL-01", "W-XGZ-01", "W-YNL-01")


def partitioned(sessions: sessionmaker[Session], n: int) -> None:
    with sessions.begin() as s:
        chain.ensure_partitions(s, n)


def open_and_walk(sessions: sessionmaker[Session], workstation: str, i: int = 0) -> int:
    """A case at WORKSTATION, opened, accepted and forwarded: 3 events."""
    now = T0 + dt.timedelta(minutes=i)
    clerk = Actor("clerk", workstation, "clerk")
    with sessions.begin() as s:
        case = open_case_as(s, "UD-01", workstation=workstation, at=now)
        walk(s, case.id, ("accept", clerk), ("forward", clerk, "需街道处理"), at=now)
        return case.id


def build(sessions: sessionmaker[Session], n: int, rounds: int = 2) -> dict[str, list[int]]:
    partitioned(sessions, n)
    made: dict[str, list[int]] = {w: [] for w in WORKSTATIONS}
    for i in range(rounds):
        for w in WORKSTATIONS:
            made[w].append(open_and_walk(sessions, w, i))
    return made


def events(sessions: sessionmaker[Session], part: int) -> list[TrailEvent]:
    with sessions() as s:
        return list(
            s.scalars(
                select(TrailEvent).where(TrailEvent.partition == part).order_by(TrailEvent.seq)
            )
        )


def partition_of_case(sessions: sessionmaker[Session], case_id: int) -> int:
    with sessions() as s:
        return int(s.execute(select(Case.partition).where(Case.id == case_id)).scalar_one())


def check(sessions: sessionmaker[Session], **kw: object):  # type: ignore[no-untyped-def]
    with sessions() as s:
        return verify(s, SECRET, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [1, 3])
def test_each_partition_chains_its_own_events_and_the_trail_verifies(
    sessions: sessionmaker[Session], n: int
) -> None:
    made = build(sessions, n)
    with sessions() as s:
        heads = {r.id - 1: (r.seq, r.hash) for r in s.scalars(select(TrailHead))}
        all_seqs = list(s.scalars(select(TrailEvent.seq).order_by(TrailEvent.seq)))
    assert sorted(heads) == list(range(n))
    parts = {w: {partition_of_case(sessions, c) for c in ids} for w, ids in made.items()}
    if n == 1:
        assert parts == {w: {0} for w in WORKSTATIONS}
        # The single chain as it always was: contiguous seqs from 1.
        assert all_seqs == list(range(1, len(all_seqs) + 1))
    else:
        assert parts == {"W-ZHL-01": {1}, "W-XGZ-01": {2}, "W-YNL-01": {0}}
    for part in range(n):
        evs = events(sessions, part)
        prev = chain.GENESIS
        for ev in evs:
            assert ev.prev_hash == prev
            assert ev.hash == chain.chain_hash(prev, chain.event_body(ev))
            prev = ev.hash
            if ev.case_id is not None:
                assert partition_of_case(sessions, ev.case_id) == part
        assert heads[part] == ((evs[-1].seq, prev) if evs else (0, chain.GENESIS))
    report = check(sessions)
    assert report.ok, report.problems
    assert report.events_checked == len(all_seqs)
    if n == 1:
        assert report.partitions is None
    else:
        assert [p.partition for p in report.partitions] == [0, 1, 2]
        assert all(p.ok and p.events_checked for p in report.partitions)
        assert check(sessions, partition=2).ok


def test_appends_to_a_partition_not_locked_are_refused(sessions: sessionmaker[Session]) -> None:
    made = build(sessions, 3, rounds=1)
    case_id = made["W-XGZ-01"][0]  # partition 2
    with sessions.begin() as s:
        if s.connection().dialect.name == "sqlite":
            pytest.skip("SQLite's write lock is the whole database's: every partition is locked")
        chain.lock_head(s, [1])
        with pytest.raises(chain.ChainNotLocked, match="partition 2"):
            chain.append(s, at=T0, actor="x", action="case.noted", case_id=case_id)
        s.rollback()


def _tamper_ok_elsewhere(report, part: int, kind: str) -> None:  # type: ignore[no-untyped-def]
    assert not report.ok
    assert report.bad_partitions() == [part], report.problems
    assert report.first_bad.kind == kind, report.problems
    assert report.first_bad.partition == part
    assert [p.partition for p in report.partitions if not p.ok] == [part]


def test_a_modified_event_is_named_in_its_partition(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    build(sessions, 3)
    ev = events(sessions, 1)[2]
    intrude(engine, f"UPDATE trail_events SET reason = 'changed' WHERE seq = {ev.seq}")
    report = check(sessions)
    _tamper_ok_elsewhere(report, 1, "modified")
    assert report.first_bad.seq == ev.seq
    assert "partition 1: seq" in str(report.first_bad)
    assert check(sessions, partition=0).ok and check(sessions, partition=2).ok
    assert not check(sessions, partition=1).ok


def test_a_missing_event_is_named_in_its_partition(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    build(sessions, 3)
    ev = events(sessions, 2)[1]
    intrude(engine, f"DELETE FROM trail_events WHERE seq = {ev.seq}")
    report = check(sessions)
    _tamper_ok_elsewhere(report, 2, "missing")
    assert report.first_bad.seq == ev.seq


def test_an_inserted_event_is_named_in_its_partition(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    build(sessions, 3)
    evs = events(sessions, 0)
    # A copy of an event of partition 0, linked where it does not belong, beyond every seq.
    with sessions() as s:
        top = s.execute(text("SELECT max(seq) FROM trail_events")).scalar_one()
    a = evs[1]
    body = {**chain.event_body(a), "seq": top + 1}
    forged = chain.chain_hash(evs[-1].hash, body)
    data = "CAST(:d AS json)" if engine.dialect.name == "postgresql" else ":d"
    intrude(
        engine,
        (
            "INSERT INTO trail_events (seq, at, case_id, actor, unit, action, data, prev_hash,"
            f' hash, "partition") VALUES (:s, :at, :c, :ac, :u, :an, {data}, :p, :h, 0)',
            {
                "s": top + 1,
                "at": a.at,
                "c": a.case_id,
                "ac": a.actor,
                "u": a.unit,
                "an": a.action,
                "d": chain.canonical_text(a.data),
                "p": evs[-1].hash,
                "h": forged,
            },
        ),
    )
    report = check(sessions)
    _tamper_ok_elsewhere(report, 0, "inserted")
    assert report.first_bad.seq == top + 1


def test_a_truncated_partition_is_caught_against_its_head_and_the_checkpoint(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    build(sessions, 3)
    with sessions.begin() as s:
        anchor = checkpoint(s, SECRET)
    assert anchor.heads is not None and [h[0] for h in anchor.heads] == [0, 1, 2]
    assert anchor.hash == merkle_root(anchor.heads)
    evs = events(sessions, 2)
    last, before = evs[-1], evs[-2]
    # The tail of partition 2 cut, and its head moved back to match: only the signed root
    # (the checkpoint's head for partition 2) still knows.
    intrude(
        engine,
        f"DELETE FROM trail_events WHERE seq = {last.seq}",
        f"UPDATE trail_head SET seq = {before.seq}, hash = '{before.hash}' WHERE id = 3",
    )
    report = check(sessions)
    _tamper_ok_elsewhere(report, 2, "truncated")
    assert f"signed seq {last.seq}" in report.first_bad.detail


def test_a_partition_rebuilt_after_a_change_is_caught_at_its_checkpoint(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    build(sessions, 3)
    with sessions.begin() as s:
        checkpoint(s, SECRET)
    evs = events(sessions, 1)
    # A careful intruder: an event of partition 1 changed, and every hash after it in the
    # partition recomputed, its head moved along.
    target = evs[1]
    updates: list[tuple[str, dict[str, object]]] = []
    prev = evs[0].hash
    for ev in evs[1:]:
        body = chain.event_body(ev)
        if ev.seq == target.seq:
            body["reason"] = "changed"
            updates.append(
                ("UPDATE trail_events SET reason = 'changed' WHERE seq = :s", {"s": ev.seq})
            )
        h = chain.chain_hash(prev, body)
        updates.append(
            (
                "UPDATE trail_events SET prev_hash = :p, hash = :h WHERE seq = :s",
                {"p": prev, "h": h, "s": ev.seq},
            )
        )
        prev = h
    updates.append(("UPDATE trail_head SET hash = :h WHERE id = 2", {"h": prev}))
    intrude(engine, *updates)
    report = check(sessions)
    _tamper_ok_elsewhere(report, 1, "rebuilt")


def test_a_forged_checkpoint_is_caught(engine: Engine, sessions: sessionmaker[Session]) -> None:
    build(sessions, 3, rounds=1)
    with sessions.begin() as s:
        checkpoint(s, SECRET)
    with sessions() as s:
        heads = s.execute(select(Checkpoint.heads)).scalar_one()
    heads[1][1] += 1  # a head's seq claimed higher: the root no longer matches the signature
    data = "CAST(:h AS json)" if engine.dialect.name == "postgresql" else ":h"
    intrude(engine, (f"UPDATE checkpoints SET heads = {data}", {"h": json.dumps(heads)}))
    report = check(sessions)
    assert [p.kind for p in report.problems] == ["forged_checkpoint"]


def test_an_event_moved_to_another_partition_is_misplaced(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    build(sessions, 3, rounds=1)
    ev = events(sessions, 1)[-1]  # the last: partition 1's chain itself still ends well
    intrude(
        engine,
        f'UPDATE trail_events SET "partition" = 2 WHERE seq = {ev.seq}',
        f"UPDATE trail_head SET seq = {events(sessions, 1)[-2].seq}, "
        f"hash = '{events(sessions, 1)[-2].hash}' WHERE id = 2",
    )
    report = check(sessions)
    assert not report.ok
    assert ("misplaced", 2) in {(p.kind, p.partition) for p in report.problems}


def test_anchors_round_trip_and_old_single_partition_checkpoints_still_verify(
    sessions: sessionmaker[Session],
) -> None:
    partitioned(sessions, 1)
    open_and_walk(sessions, "W-ZHL-01")
    with sessions.begin() as s:
        old = checkpoint(s, SECRET)  # a single chain's checkpoint, as before
    assert old.heads is None and "heads" not in old.as_dict()
    made = build(sessions, 3, rounds=1)
    assert made
    with sessions.begin() as s:
        new = checkpoint(s, SECRET)
    line = json.dumps(new.as_dict())
    back = Anchor.from_json(line)
    assert back.heads == new.heads and back.hash == new.hash == json.loads(line)["root"]
    assert Anchor.from_json(json.dumps(old.as_dict())) == Anchor(
        old.seq, old.hash, old.at, old.signature
    )
    report = check(sessions, anchors=[back, Anchor.from_json(json.dumps(old.as_dict()))])
    assert report.ok, report.problems
    assert report.checkpoints_checked == 4
    forged = Anchor(back.seq, back.hash, back.at, back.signature, heads=((0, 1, "0" * 64),))
    assert [p.kind for p in check(sessions, anchors=[forged]).problems] == ["forged_checkpoint"]


def test_export_per_partition(sessions: sessionmaker[Session]) -> None:
    build(sessions, 3, rounds=1)
    with sessions() as s:
        lines = [json.loads(x) for x in export_lines(s, partition=1)]
        everything = [json.loads(x) for x in export_lines(s)]
    assert lines and {x["partition"] for x in lines} == {1}
    assert [x["seq"] for x in lines] == [e.seq for e in events(sessions, 1)]
    prev = chain.GENESIS
    for x in lines:  # a partition's export re-hashes by itself
        body = {k: v for k, v in x.items() if k not in ("prev_hash", "hash", "partition")}
        assert x["prev_hash"] == prev and chain.chain_hash(prev, body) == x["hash"]
        prev = x["hash"]
    assert len(everything) == sum(len(events(sessions, p)) for p in range(3))


def test_one_partition_an_event_outside_it_is_misplaced(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    made = build(sessions, 1, rounds=1)
    assert check(sessions).ok
    case_id = made["W-XGZ-01"][0]
    intrude(engine, f'UPDATE cases SET "partition" = 2 WHERE id = {case_id}')
    report = check(sessions)
    assert [p.kind for p in report.problems] == ["misplaced"]
    assert f"case {case_id}" in report.problems[0].detail


def test_replay_of_a_partitioned_trail_matches_every_case(sessions: sessionmaker[Session]) -> None:
    from workflow.audit.replay import differences

    build(sessions, 3)
    with sessions() as s:
        assert list(differences(s)) == []


def test_a_partition_count_lowered_keeps_the_partitions_and_new_cases_go_to_the_default(
    sessions: sessionmaker[Session],
) -> None:
    made = build(sessions, 3, rounds=1)
    with sessions.begin() as s:
        assert chain.ensure_partitions(s, 1) == 3  # never removed
    assert partition_of_case(sessions, made["W-XGZ-01"][0]) == 2
    later = open_and_walk(sessions, "W-XGZ-01", 5)
    assert partition_of_case(sessions, later) == 0  # new cases: the default partition
    # The old case goes on in its partition; the trail still verifies per partition.
    with sessions.begin() as s:
        wf.fire(s, made["W-XGZ-01"][0], "dispatch", Actor("s", "S-XGZ", "staff"), now=T0)
    assert events(sessions, 2)[-1].case_id == made["W-XGZ-01"][0]
    report = check(sessions)
    assert report.ok and len(report.partitions) == 3


def test_more_partitions_later_keep_every_seq_unique(sessions: sessionmaker[Session]) -> None:
    build(sessions, 2, rounds=1)
    build(sessions, 3, rounds=1)
    with sessions() as s:
        seqs = list(s.scalars(select(TrailEvent.seq)))
        heads = list(s.scalars(select(TrailHead.seq).order_by(TrailHead.id)))
    assert len(seqs) == len(set(seqs)) and len(heads) == 3
    assert check(sessions).ok


def test_a_sweep_over_cases_of_every_partition_supervises_each_in_its_chain(
    sessions: sessionmaker[Session],
) -> None:
    from tests.time.conftest import open_at
    from workflow.runtime import sla
    from workflow.store.models import Supervision

    partitioned(sessions, 3)
    for k in range(9):
        w = WORKSTATIONS[k % 3]
        clerk = Actor(f"clerk@{w}", w, "clerk")
        with sessions.begin() as s:
            case = open_at(s, clerk, "SW-02", T0 + dt.timedelta(hours=k), workstation=w)
            wf.fire(s, case.id, "accept", clerk, now=T0 + dt.timedelta(hours=k))
    result = sla.sweep(sessions, now=T0 + dt.timedelta(days=40), batch=4)
    assert result.supervisions == 9
    with sessions() as s:
        raised = list(
            s.scalars(select(TrailEvent).where(TrailEvent.action == "supervision.raised"))
        )
        assert s.execute(select(func.count()).select_from(Supervision)).scalar_one() == 9
        marks = {m.id - 1 for m in s.scalars(select(SweepMark))}
    assert marks == {0, 1, 2}
    assert {ev.partition for ev in raised} == {0, 1, 2}
    for ev in raised:
        assert ev.partition == partition_of_case(sessions, ev.case_id)
    assert check(sessions).ok
    # A second sweep: nothing changed since, nothing raised again.
    assert sla.sweep(sessions, now=T0 + dt.timedelta(days=40)).supervisions == 0


def test_an_event_inserted_inside_a_partition_is_named(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    build(sessions, 3)
    evs = events(sessions, 1)
    a = evs[1]
    with sessions() as s:
        taken = set(s.scalars(select(TrailEvent.seq)))
    # A seq no event has, after event a (appended on top, the chain then linked around it).
    free = max(taken) + 1
    body = {**chain.event_body(a), "seq": free, "reason": "forged"}
    forged = chain.chain_hash(a.hash, body)
    data = "CAST(:d AS json)" if engine.dialect.name == "postgresql" else ":d"
    intrude(
        engine,
        (
            "INSERT INTO trail_events (seq, at, case_id, actor, unit, action, reason, data,"
            f' prev_hash, hash, "partition") VALUES (:s, :at, :c, :ac, :u, :an, :r, {data}, :p,'
            " :h, 1)",
            {
                "s": free,
                "at": a.at,
                "c": a.case_id,
                "ac": a.actor,
                "u": a.unit,
                "an": a.action,
                "r": "forged",
                "d": chain.canonical_text(a.data),
                "p": a.hash,
                "h": forged,
            },
        ),
        f"UPDATE trail_head SET seq = {free}, hash = '{forged}' WHERE id = 2",
    )
    # Event a's successors still link to a: the forged one, last in seq order, links to a too.
    report = check(sessions)
    _tamper_ok_elsewhere(report, 1, "inserted")
    assert report.first_bad.seq == evs[2].seq
