"""`init --demo` shows notifications: the residents' SMS in the file sink, the units' lists."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.cli import main
from workflow.store.models import Delivery, Notification, OutboxEvent


def test_the_demo_tells_residents_and_units(env: Path, sessions: sessionmaker[Session]) -> None:
    args = ["init", "--demo", "--days", "10", "--per-workstation", "2"]
    result = CliRunner().invoke(main, [*args, "--now", "2026-11-25T10:00:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "demo notifications:" in result.output
    lines = (env / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines]
    assert any("已受理" in t for t in texts) and any("已办结" in t for t in texts)
    assert all(t.startswith("【石楠街道便民服务】") for t in texts)
    with sessions() as s:
        assert s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one() == 0
        kinds = set(s.execute(select(Notification.kind)).scalars())
        assert {"whistle", "task"} <= kinds
        assert set(s.execute(select(Delivery.status)).scalars()) == {"delivered"}
