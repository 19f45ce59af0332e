"""`streetflow notify`: run --once, the dead letters listed and retried, webhooks added,
listed and removed; refusals are a message and exit 1, and change nothing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from tests.conftest import open_case_as
from workflow.instants import utcnow
from workflow.store.models import Delivery, Webhook


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_help_has_examples() -> None:
    for args in (["notify"], ["notify", "run"], ["notify", "dead"], ["notify", "retry"]):
        code, out = run(*args, "--help")
        assert code == 0 and "Example:" in out and "Exit codes" in out


def test_notify_from_the_command_line(env: Path, sessions: sessionmaker[Session]) -> None:
    code, out = run("notify", "webhook-add", "http://127.0.0.1:9/nothing-listens", "--event", "*")
    assert code == 0, out
    assert "secret: " in out
    code, out = run("notify", "webhooks")
    assert code == 0 and "http://127.0.0.1:9/nothing-listens" in out
    with sessions.begin() as s:
        open_case_as(s, "SW-10", at=utcnow() + dt.timedelta(seconds=1))
    code, out = run("notify", "run", "--once", "--max-attempts", "1")
    assert code == 1, out  # the webhook's delivery went dead
    assert "1 deliveries are dead" in out
    assert (env / "sms.jsonl").exists()  # the receipt went out
    code, out = run("notify", "dead", "--json")
    assert code == 0
    (dead,) = [json.loads(line) for line in out.splitlines()]
    assert dead["status"] == "dead" and dead["channel"] == "webhook"
    assert "13800000000" not in out

    code, out = run("notify", "retry", "999999")
    assert code == 1 and "no delivery 999999" in out
    code, out = run("notify", "retry", str(dead["id"]))
    assert code == 0 and "1 deliveries queued again" in out
    with sessions() as s:
        assert s.get(Delivery, dead["id"]).status == "pending"  # type: ignore[union-attr]
        sms = s.execute(select(Delivery).where(Delivery.channel == "sms")).scalar_one()
    code, out = run("notify", "retry", str(sms.id))
    assert code == 1 and "delivered" in out  # nothing to retry, nothing changed

    code, out = run("notify", "webhook-add", "ftp://x", "--event", "*")
    assert code == 1 and "http" in out
    code, out = run("notify", "webhook-remove", "1")
    assert code == 0
    code, out = run("notify", "webhook-remove", "1")
    assert code == 1 and "no webhook 1" in out
    with sessions() as s:
        assert [h.active for h in s.execute(select(Webhook)).scalars()] == [False]
