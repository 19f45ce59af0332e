"""A stage turning yellow, then red, under the sweep tells its holder once each, in the
sweep's transaction: a re-run tells nothing new, a rolled-back batch tells nothing."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.time.conftest import open_at, sh
from workflow.actors import Actor
from workflow.runtime import engine, sla
from workflow.store.models import Case, Notification

CLERK = Actor("clerk", "W-ZHL-01", "clerk")


def accepted(sessions: sessionmaker[Session]) -> int:
    """A case accepted Thursday 26 November 2026 10:00 (yellow by 1 December 09:00, red after
    its limit on 1 December 17:30)."""
    with sessions.begin() as s:
        case = open_at(s, CLERK, "SW-11", sh(2026, 11, 26))
        engine.fire(s, case.id, "accept", CLERK, now=sh(2026, 11, 26))
        return case.id


def told(sessions: sessionmaker[Session], cid: int) -> list[tuple[str, str]]:
    with sessions() as s:
        rows = s.execute(
            select(Notification.unit, Notification.kind)
            .where(Notification.case_id == cid, Notification.kind.in_(("yellow", "red")))
            .order_by(Notification.id)
        ).all()
    return [(r.unit, r.kind) for r in rows]


def sweep(at: str) -> str:
    result = CliRunner().invoke(main, ["sla", "sweep", "--now", at])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_yellow_then_red_tell_the_holder_once_each(
    env: Path, sessions: sessionmaker[Session]
) -> None:
    cid = accepted(sessions)
    assert "told 1 holder(s) of a light turned yellow or red" in sweep("2026-12-01T09:00:00+08:00")
    assert told(sessions, cid) == [("W-ZHL-01", "yellow")]
    assert "told" not in sweep("2026-12-01T09:30:00+08:00")  # a re-run: nothing new
    assert told(sessions, cid) == [("W-ZHL-01", "yellow")]
    sweep("2026-12-02T09:00:00+08:00")
    assert told(sessions, cid) == [("W-ZHL-01", "yellow"), ("W-ZHL-01", "red")]
    sweep("2026-12-02T10:00:00+08:00")
    sweep("2026-12-02T10:00:00+08:00")
    assert told(sessions, cid) == [("W-ZHL-01", "yellow"), ("W-ZHL-01", "red")]
    with sessions() as s:
        red = s.execute(
            select(Notification).where(Notification.case_id == cid, Notification.kind == "red")
        ).scalar_one()
        case = s.get(Case, cid)
        assert case is not None and red.seq == case.stage_seq
        assert red.data["event"] == "stage.red" and red.data["due_at"]


def test_a_rolled_back_batch_tells_nothing(sessions: sessionmaker[Session]) -> None:
    cid = accepted(sessions)
    with sessions() as s, s.begin():
        result = sla.sweep_batch(s, now=sh(2026, 12, 2))
        assert result.red == 1 and result.told == 1
        s.rollback()
    assert told(sessions, cid) == []
    with sessions() as s:
        case = s.get(Case, cid)
        assert case is not None and case.light != "red"
    # The same sweep committed tells once.
    with sessions.begin() as s:
        sla.sweep_batch(s, now=sh(2026, 12, 2))
    assert told(sessions, cid) == [("W-ZHL-01", "red")]


def test_a_unit_with_a_duty_address_gets_its_light_by_email(
    sessions: sessionmaker[Session],
) -> None:
    from workflow.notify import lights
    from workflow.store.models import Delivery

    cid = accepted(sessions)
    with sessions.begin() as s:
        case = s.get(Case, cid)
        assert case is not None and case.stage_seq is not None
        turned = lights.Turned(cid, case.stage_seq, "D-GA", "red", case.stage_due_at, case.item)
        assert lights.tell(s, [turned], now=sh(2026, 12, 2)) == 1
        assert lights.tell(s, [turned], now=sh(2026, 12, 2)) == 0  # told already
    with sessions() as s:
        mails = s.execute(select(Delivery).where(Delivery.case_id == cid)).scalars().all()
        assert [(d.channel, d.payload["staff"], d.payload["unit"]) for d in mails] == [
            ("email", "red", "D-GA")
        ]
