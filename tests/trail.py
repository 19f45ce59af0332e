"""The whole trail checked as an auditor would: `workflow.audit.verify` (seq, links, hashes,
head, signed checkpoints) and replay (every case row is what its trail says)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from workflow.audit.replay import differences
from workflow.audit.verify import verify

# The instance secret of the servers, sweepers and commands these tests start: it signs the
# trail's checkpoints, so verify needs the same one.
SECRET = "concurrency-test-secret"


def trail_problems(sessions: sessionmaker[Session], secret: str = SECRET) -> list[str]:
    """What is wrong with the whole trail, one line each; [] when it verifies and replays."""
    with sessions() as s:
        report = verify(s, secret)
        problems = [str(p) for p in report.problems]
        problems += [str(d) for d in differences(s)]
    return problems
