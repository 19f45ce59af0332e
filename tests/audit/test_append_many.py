"""Events appended together (the sweep's supervisions) are linked and hashed exactly as one by
one: the trail verifies, each event is told (the outbox), and a sweep that raises many
supervisions at once leaves a trail that verifies and replays."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import T0, trail_intact
from tests.time.conftest import open_at
from workflow.actors import Actor
from workflow.audit import chain
from workflow.audit.verify import verify
from workflow.runtime import engine, sla
from workflow.store.models import OutboxEvent, Supervision, TrailEvent

CLERK = Actor("clerk", "W-ZHL-01", "clerk")


def _events(case_id: int, n: int) -> list[dict[str, object]]:
    return [
        {
            "at": T0 + dt.timedelta(seconds=k),
            "actor": "system",
            "action": "supervision.raised",
            "case_id": case_id,
            "to_state": "s",
            "data": {"k": k, "text": "督办 ü", "nested": {"b": [1, None], "a": True}},
        }
        for k in range(n)
    ]


def test_events_appended_together_equal_events_appended_one_by_one(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        case_id = open_at(s, CLERK, "SW-02", T0).id
    with sessions.begin() as s:
        chain.lock_head(s)
        together = chain.append_many(s, _events(case_id, 5))  # type: ignore[arg-type]
        queued_before = s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one()
    with sessions.begin() as s:
        chain.lock_head(s)
        for ev in _events(case_id, 5):
            chain.append(s, **ev)  # type: ignore[arg-type]
    with sessions() as s:
        assert trail_intact(s)
        rows = list(s.execute(select(TrailEvent).order_by(TrailEvent.seq)).scalars())
        assert [r.seq for r in rows[-10:-5]] == [r["seq"] for r in together]
        # Same bodies: the stored data of both spellings is the same text.
        assert [r.data for r in rows[-10:-5]] == [r.data for r in rows[-5:]]
        queued = s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one()
        assert queued == queued_before + 5


def test_a_sweep_raising_many_supervisions_leaves_a_trail_that_verifies(
    sessions: sessionmaker[Session],
) -> None:
    for k in range(12):
        with sessions.begin() as s:
            case = open_at(s, CLERK, "SW-02", T0 + dt.timedelta(hours=k))
            engine.fire(s, case.id, "accept", CLERK, now=T0 + dt.timedelta(hours=k))
    result = sla.sweep(sessions, now=T0 + dt.timedelta(days=40), batch=5)
    assert result.supervisions == 12
    with sessions() as s:
        assert s.execute(select(func.count()).select_from(Supervision)).scalar_one() == 12
        assert trail_intact(s)
        report = verify(s, "secret")
        assert report.ok, report


def test_a_sweeps_events_store_their_data_as_canonical_json(
    sessions: sessionmaker[Session],
) -> None:
    """The sweep spells its events' data before it takes the lock (all but the supervision's
    id): what is stored and hashed is the data's canonical JSON with the row's supervision id."""
    for k in range(3):
        with sessions.begin() as s:
            case = open_at(s, CLERK, "SW-02", T0 + dt.timedelta(hours=k))
            engine.fire(s, case.id, "accept", CLERK, now=T0 + dt.timedelta(hours=k))
    # Long after the limits: raised and listed in the same write.
    result = sla.sweep(sessions, now=T0 + dt.timedelta(days=90), batch=2)
    assert (result.supervisions, result.listed) == (3, 3)
    with sessions() as s:
        sups = {r.case_id: r for r in s.execute(select(Supervision)).scalars()}
        stored = s.execute(
            select(TrailEvent.action, TrailEvent.case_id, cast(TrailEvent.data, Text))
            .where(TrailEvent.action.in_(["supervision.raised", "supervision.listed"]))
            .order_by(TrailEvent.seq)
        ).all()
        assert [a for a, _, _ in stored] == ["supervision.raised", "supervision.listed"] * 3
        for action, case_id, text in stored:
            data = json.loads(text)
            assert text == chain.canonical_text(data)
            sup = sups[case_id]
            if action == "supervision.raised":
                assert data == {
                    "supervision": sup.id,
                    "stage_seq": sup.stage_seq,
                    "state": sup.state,
                    "holder": sup.holder,
                    "unit": sup.unit,
                    "also_unit": sup.also_unit,
                    "stage_due_at": chain.format_at(sup.stage_due_at),
                    "list_at": chain.format_at(sup.list_at),
                }
            else:
                assert data == {"supervision": sup.id, "holder": sup.holder, "unit": "X-SN"}
        assert verify(s, "secret").ok


def test_data_spelled_around_an_id_is_its_canonical_json() -> None:
    for data in (
        {"a": '督办 "x"', "supervision": -1, "unit": None},
        {"a": 1, "supervision": -1},  # the last key
        {"supervision": -1, "task": 7, "task_status": "open"},
    ):
        head, tail = sla._around_id(data)
        assert f"{head}4213{tail}" == chain.canonical_text({**data, "supervision": 4213})
