"""The demo shows the practices: returns approved, refused, arbitrated and pending; urgent and
critical cases; the supervision ladder's steps."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from workflow.audit.replay import differences
from workflow.store.models import Case, ReturnRequest, TrailEvent


def test_the_demo_has_returns_urgent_cases_and_ladder_steps(
    env: Path, sessions: sessionmaker[Session]
) -> None:
    args = ["init", "--demo", "--days", "10", "--per-workstation", "2"]
    result = CliRunner().invoke(main, [*args, "--now", "2026-11-25T10:00:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "demo practice: 4 returns" in result.output
    with sessions() as s:
        statuses = [
            (r.status, r.arbitration)
            for r in s.execute(select(ReturnRequest).order_by(ReturnRequest.id)).scalars()
        ]
        assert statuses == [
            ("approved", False),
            ("refused", False),
            ("approved", True),
            ("pending", False),
        ]
        levels = {
            row[0]: row[1]
            for row in s.execute(select(Case.urgency, func.count()).group_by(Case.urgency))
        }
        # (The third urgent one: raised at the 12345 centre before it was dispatched.)
        assert levels["critical"] == 2 and levels["urgent"] == 3
        actions = set(s.execute(select(TrailEvent.action)).scalars())
        assert {"supervision.reminded", "supervision.raised", "supervision.listed"} <= actions
        # The critical report of the night before was accepted late (15 minutes, clock time).
        critical = (
            s.execute(select(Case.id).where(Case.urgency == "critical").order_by(Case.id))
            .scalars()
            .first()
        )
        accepted = s.execute(
            select(TrailEvent).where(TrailEvent.case_id == critical, TrailEvent.trigger == "accept")
        ).scalar_one()
        assert accepted.data["response_late"] is True
        assert list(differences(s)) == []
