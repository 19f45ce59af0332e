"""Time along the chain: verify reports events dated before the one before them, and events dated
after the database wrote them (a sweep run with --now in the future), without calling the chain
broken."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.audit.helpers import CLERK, head
from tests.conftest import T0
from tests.time.conftest import open_at
from workflow.runtime import engine as wf


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_an_event_dated_before_the_one_before_it_is_a_warning(
    env: Path, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        case = open_at(s, CLERK, "SW-11", T0 + dt.timedelta(hours=1))
    with sessions.begin() as s:  # a writer whose clock is an hour behind
        wf.fire(s, case.id, "accept", CLERK, now=T0)
    seq = head(sessions)
    code, out, _ = run("audit", "verify")
    assert code == 0
    assert f"trail intact: {seq} events" in out
    assert (
        f"warning: seq {seq}: time_backwards: dated 2026-11-26T02:00:00.000000Z, before event "
        f"{seq - 1} (2026-11-26T03:00:00.000000Z)" in out
    )
    assert "1 warning(s)" in out
    assert run("audit", "verify", "--strict")[0] == 3
    code, out, _ = run("audit", "verify", "--json", "--jobs", "2")
    body = json.loads(out)
    assert code == 0 and body["ok"] is True and body["warnings_total"] == 1
    assert [(w["seq"], w["kind"]) for w in body["warnings"]] == [(seq, "time_backwards")]


def test_a_sweep_with_now_in_the_future_is_reported_by_verify(
    env: Path, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as s:
        case = open_at(s, CLERK, "SW-11", T0)
        wf.fire(s, case.id, "accept", CLERK, now=T0)
    before = head(sessions)
    assert run("audit", "verify", "--strict")[0] == 0
    # Weeks after this machine's clock, so weeks after the database writes the events.
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=40)).isoformat()
    code, out, err = run("sla", "sweep", "--now", future)
    assert code == 0 and "1 supervision(s) raised" in out
    assert "warning: --now is" in err and "ahead of this machine's clock" in err
    raised = head(sessions)
    assert raised > before
    code, out, _ = run("audit", "verify")
    assert code == 0 and f"trail intact: {raised} events" in out
    assert f"warning: seq {raised}: dated_after_write: dated " in out
    assert "after the database wrote it" in out
    assert run("audit", "verify", "--strict")[0] == 3
