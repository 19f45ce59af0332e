"""The demo's feedback goes through the real paths: links used, 回访 calls, 差评 rectified and
visited again, and one appeal upheld by the district."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from workflow.audit.replay import differences
from workflow.store.models import Appeal, Feedback, Rectification, TrailEvent, User


def test_the_demo_residents_answer_and_one_appeal_is_upheld(
    env: Path, sessions: sessionmaker[Session]
) -> None:
    result = CliRunner().invoke(
        main,
        [
            "init",
            "--demo",
            "--days",
            "20",
            "--per-workstation",
            "4",
            "--now",
            "2026-11-25T10:00:00+08:00",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "callback" in result.output and "callback-demo-2026" in result.output
    with sessions() as s:
        assert s.scalars(select(User.role).where(User.name == "callback")).one() == "callback"
        channels = dict(
            s.execute(
                select(Feedback.channel, func.count())
                .where(Feedback.status == "given")
                .group_by(Feedback.channel)
            ).all()
        )
        assert channels.get("link", 0) > 0 and channels.get("phone", 0) > 0
        assert s.scalar(select(func.count()).where(Feedback.status == "pending")) > 0
        # 差评 rectified, and the resident asked again.
        reported = s.scalars(select(Rectification).where(Rectification.status == "reported")).all()
        assert reported
        assert s.scalar(select(func.count()).where(Feedback.round == 2)) >= len(reported)
        (appeal,) = s.scalars(select(Appeal)).all()
        assert appeal.status == "upheld"
        assert s.get(Feedback, appeal.feedback_id).excluded  # type: ignore[union-attr]
        given = s.scalar(select(func.count()).where(TrailEvent.action == "feedback.given"))
        assert given == s.scalar(select(func.count()).where(Feedback.status == "given"))
        assert list(differences(s)) == []
