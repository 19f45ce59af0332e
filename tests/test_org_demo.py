"""The demo shows the three bodies of a community (两委一站) at work, and the party line."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from workflow.audit.replay import differences
from workflow.store.models import Case, TrailEvent, Unit, User


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_the_demo_shows_the_three_bodies_of_a_community_at_work(
    env: Path, sessions: sessionmaker[Session]
) -> None:
    code, out = run(
        "init", "--demo", "--days", "20", "--per-workstation", "3",
        "--now", "2026-11-25T10:00:00+08:00",
    )  # fmt: skip
    assert code == 0, out
    assert any(line.split()[:2] == ["party", "party-demo-2026"] for line in out.splitlines())
    with sessions() as s:
        names = set(s.execute(select(User.name)).scalars())
        assert {"party", "residents", "mediator", "streetparty", "centre"} <= names
        kinds = dict(s.execute(select(Unit.code, Unit.kind)).all())
        held = set(
            s.execute(
                select(TrailEvent.to_holder).where(TrailEvent.to_holder.is_not(None))
            ).scalars()
        )
        at_work = {kinds[h] for h in held if h in kinds}
        # The three bodies of a community, and the party line on to the street.
        assert {"party_committee", "mediation_committee", "workstation"} <= at_work
        assert "street_party_committee" in at_work
        # Party matters never sat with a workstation.
        party_items = select(Case.id).where(Case.item.like("PB-%"))
        ws_held = s.execute(
            select(func.count())
            .select_from(TrailEvent)
            .where(TrailEvent.case_id.in_(party_items), TrailEvent.to_holder.like("W-%"))
        ).scalar_one()
        assert ws_held == 0
        assert list(differences(s)) == []
