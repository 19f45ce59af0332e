"""The resident is told by SMS at each step of a case's life (the file sink shows it), and a
change that rolls back queues nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import open_case_as, walk
from workflow.actors import Actor
from workflow.config import Settings
from workflow.errors import NotAllowed
from workflow.notify import worker
from workflow.runtime import engine as wf
from workflow.runtime import sla
from workflow.store.db import make_sessionmaker
from workflow.store.models import Delivery, OutboxEvent

CLERK = Actor("clerk", "W-ZHL-01", "clerk")


def sent(instance: Path) -> list[dict[str, str]]:
    path = instance / "sms.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def own(engine, tmp_path: Path) -> tuple[sessionmaker[Session], Settings]:  # type: ignore[no-untyped-def]
    settings = Settings(instance=tmp_path / "inst", public_url="https://sf.example.cn")
    return make_sessionmaker(engine, settings), settings


def test_each_step_of_a_case_reaches_the_resident(own) -> None:  # type: ignore[no-untyped-def]
    sessions, settings = own
    with sessions.begin() as s:
        case = open_case_as(s, "SW-10", applicant_phone="13912345678")
        cid = case.id
    worker.run_once(sessions, settings)
    texts = [m["text"] for m in sent(settings.instance)]
    assert len(texts) == 1
    assert texts[0].startswith("【石楠街道便民服务】")
    assert f"受理编号{cid}" in texts[0] and "失业登记" in texts[0] and "前办结" in texts[0]

    with sessions.begin() as s:
        walk(s, cid, ("accept", CLERK), ("request_materials", CLERK, "缺少解除劳动合同证明"))
    worker.run_once(sessions, settings)
    texts = [m["text"] for m in sent(settings.instance)]
    assert len(texts) == 2 and "需补正材料：缺少解除劳动合同证明" in texts[1]

    with sessions.begin() as s:
        walk(s, cid, ("resubmit", CLERK))
        ext = sla.request_extension(s, case_id=cid, actor=CLERK, reason="需上门核实", days=2)
    with sessions.begin() as s:
        sla.decide_extension(
            s, extension_id=ext.id, actor=Actor("st", "S-ZHL", "staff"), approve=True
        )
    worker.run_once(sessions, settings)
    texts = [m["text"] for m in sent(settings.instance)]
    assert len(texts) == 3 and "延长2个工作日" in texts[2] and "原因：需上门核实" in texts[2]

    with sessions.begin() as s:
        walk(s, cid, ("complete", CLERK))
    worker.run_once(sessions, settings)
    messages = sent(settings.instance)
    assert len(messages) == 4 and "已办结" in messages[3]["text"]
    assert "https://sf.example.cn/f/" in messages[3]["text"]
    # The sink never shows the whole phone number.
    assert all(m["to"] == "139****5678" for m in messages)
    assert "13912345678" not in (settings.instance / "sms.jsonl").read_text()
    with sessions() as s:
        statuses = s.execute(select(Delivery.status).where(Delivery.channel == "sms")).scalars()
        assert set(statuses) == {"delivered"}


def test_a_change_that_rolls_back_queues_nothing(own) -> None:  # type: ignore[no-untyped-def]
    sessions, settings = own
    with sessions.begin() as s:
        cid = open_case_as(s, "SW-10").id
    with sessions() as s:
        before = s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one()
    with pytest.raises(NotAllowed), sessions.begin() as s:
        wf.fire(s, cid, "accept", CLERK)  # appended and queued, then:
        wf.fire(s, cid, "accept", CLERK)  # refused: the whole transaction rolls back
    with pytest.raises(RuntimeError), sessions.begin() as s:
        wf.fire(s, cid, "accept", CLERK)
        raise RuntimeError("the caller gives up")
    with sessions() as s:
        after = s.execute(select(func.count()).select_from(OutboxEvent)).scalar_one()
        assert after == before == 1
    worker.run_once(sessions, settings)
    assert len(sent(settings.instance)) == 1  # the receipt only
