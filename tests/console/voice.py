"""Cases the resident has rated, for console tests that need a ranked workstation."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from workflow.actors import Actor
from workflow.feedback import callbacks

CALLBACK = Actor("callback", "X-SN", "callback")


def rated_cases(
    make_case: Callable[..., int], sessions: sessionmaker[Session], n: int = 5, level: int = 5
) -> list[int]:
    """N local cases of W-ZHL-01 completed and answered on a 回访 call: enough to be ranked."""
    ids = [make_case("GA-03", "accept", "complete") for _ in range(n)]
    with sessions.begin() as s:
        for case in ids:
            callbacks.record_call(s, case, CALLBACK, level=level, resolved=True, channel="phone")
    return ids
