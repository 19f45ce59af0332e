"""The demo's feedback goes through the real paths: links used, 回访 calls, 差评 rectified and
visited again, and one appeal upheld by the district."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from workflow.audit.replay import differences
from workflow.audit.verify import verify
from workflow.demo import generate_cases
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


def test_the_demo_month_is_written_in_time_order(sessions: sessionmaker[Session]) -> None:
    """A resident's answer, the rectification and the second call are written in their turn
    among the month's moves, not when the case closes: the month's trail runs in time order, as
    an auditor's `audit verify` expects (it warned of about 700 events dated backwards)."""
    now = dt.datetime(2026, 11, 25, 2, tzinfo=dt.UTC)
    with sessions() as s:
        first = s.scalar(select(func.max(TrailEvent.seq))) or 0
    generate_cases(sessions, now=now, days=20, per_workstation=4)
    with sessions() as s:
        answers = s.scalar(
            select(func.count()).where(
                TrailEvent.seq > first, TrailEvent.action == "feedback.given"
            )
        )
        assert answers and answers > 20  # the month has answers to put in their place
        report = verify(s, "test-secret")
    assert report.ok
    backwards = [w for w in report.warnings if w.kind == "time_backwards" and w.seq > first]
    assert backwards == []
